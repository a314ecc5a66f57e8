"""Throughput and memory of `hume embed` against a plain reference loop, same model, same data.

The reference is the loop research scripts use: ``DataLoader`` -> model -> ``.cpu()`` -> a list
-> one NumPy array at the end, all features held in memory. The pipeline is
``hume.embed.pipeline.embed`` writing a Zarr store chunk by chunk. Each measurement runs in its
own subprocess (so peak RSS is that run's alone), both see the same generated images and the same
random-weight backbone loaded through the real ``--weights`` path, with the same batch size,
workers, device and precision. Images/s is N divided by the wall time from "model loaded" to
"features in memory" (reference) or "store complete on disk" (pipeline: dataset opening, store
creation and every write included); model loading is timed apart.

  python bench/embed_speed.py                      # CPU: random ViT-B/32, a few hundred images
  python bench/embed_speed.py --device cuda        # GPU: random ViT-L/14 and DINOv2 ViT-g/14,
                                                   # batch 256, fp16, GPU utilisation sampled

The result is written as one section of bench/RESULTS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
MARK = "<!-- embed_speed:{key}:{edge} -->"

#: name -> (hume --model name, how to build random weights)
MODELS = {
    "vit-b32": ("open_clip:ViT-B-32", "open_clip", "ViT-B-32"),
    "vit-l14": ("open_clip:ViT-L-14-quickgelu", "open_clip", "ViT-L-14-quickgelu"),
    "dinov2-g14": ("dinov2", "dinov2", "giant"),
    # no weights: cheap enough to run many images, where held features dominate memory
    "pixels": ("pixels", "classical", ""),
}


# -- inputs: images and random weights on disk ----------------------------------------------------
def make_images(folder: Path, n: int, side: int = 256, n_classes: int = 4) -> None:
    """``n`` JPEGs (``side`` x ``side``, smooth random colour fields) in ``n_classes`` folders."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        d = folder / f"class{i % n_classes}"
        d.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((side, side), Image.BICUBIC)
        img.save(d / f"{i:05d}.jpg", quality=90)


def make_weights(kind: str, arch: str, out: Path) -> Path | None:
    """Random weights saved the way real ones are given to ``--weights``."""
    import torch

    if kind == "classical":
        return None

    torch.manual_seed(0)
    if kind == "open_clip":
        import open_clip

        model = open_clip.create_model(arch, pretrained=None)
        path = out / f"{arch}-random.pt"
        torch.save(model.state_dict(), path)
        return path
    from transformers import Dinov2Config, Dinov2Model

    # facebook/dinov2-giant's architecture (ViT-g/14, SwiGLU MLP), random weights
    cfg = Dinov2Config(
        hidden_size=1536,
        num_hidden_layers=40,
        num_attention_heads=24,
        mlp_ratio=4,
        use_swiglu_ffn=True,
        image_size=518,
        patch_size=14,
    )
    path = out / "dinov2-giant-random"
    Dinov2Model(cfg).save_pretrained(path)
    return path


# -- one measured run (child process) --------------------------------------------------------------
class Sampler:
    """Peak resident memory above a baseline and (on CUDA) GPU utilisation, sampled in a thread."""

    def __init__(self, gpu: int | None, every: float = 0.05):
        self.gpu, self.every = gpu, every
        self.base = self.peak = self._rss()
        self.util: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _gpu_util(self) -> float | None:
        try:
            out = subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                    "-i",
                    str(self.gpu),
                ],
                capture_output=True,
                text=True,
                timeout=5,
            )
            return float(out.stdout.strip().splitlines()[0])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            import torch

            try:
                return float(torch.cuda.utilization(self.gpu))
            except Exception:  # noqa: BLE001 - no NVML: utilisation is simply not reported
                return None

    def _run(self) -> None:
        next_gpu = 0.0
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            if self.gpu is not None and time.monotonic() >= next_gpu:
                u = self._gpu_util()
                if u is not None:
                    self.util.append(u)
                next_gpu = time.monotonic() + 0.2
            time.sleep(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def reference(args: argparse.Namespace, backbone) -> tuple[int, int]:
    """The plain loop: every batch's features go to the host and into one list."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from hume.embed.chunk_compute import Transformed
    from hume.embed.datasets import get_dataset

    device = torch.device("cuda" if args.device == "cuda" else "cpu")
    data = get_dataset(f"imagefolder:{args.images}", "all", args.images)
    loader = DataLoader(
        Transformed(data.dataset, backbone.transform),
        batch_size=args.batch_size,
        shuffle=False,
        num_workers=args.workers,
    )
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.precision)
    amp = (
        torch.autocast("cuda", dtype=amp_dtype)
        if device.type == "cuda" and amp_dtype
        else torch.autocast("cpu", enabled=False)
    )
    feats = []
    with torch.no_grad(), amp:
        for x, _ in loader:
            feats.append(backbone.encode(x.to(device)).cpu())
    out = np.concatenate([f.numpy() for f in feats])  # the list and the array: both in memory
    return int(out.shape[0]), int(out.nbytes)


def pipeline(args: argparse.Namespace, backbone) -> tuple[int, int]:
    """The embed stage, as `hume embed` runs it, into a fresh store."""
    from hume.embed.pipeline import embed
    from hume.store import open_store

    (path,) = embed(
        args.model,
        f"imagefolder:{args.images}",
        root=args.root,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        workers=args.workers,
        overwrite=True,
        backbone=backbone,
    )
    with open_store(path) as st:  # features live on disk; the host holds <= 3 chunks of float32
        return st.n_rows, 3 * st.chunk_rows * st.dim * 4


def child(args: argparse.Namespace) -> None:
    import torch  # noqa: F401 - libraries imported before the clock starts: both sides equal
    import zarr  # noqa: F401 - the store's backend: an import, not throughput

    import hume.embed.backbones  # noqa: F401
    import hume.embed.pipeline  # noqa: F401
    from hume.embed.backbones import create_backbone

    gpu = 0 if args.device == "cuda" else None
    with Sampler(gpu) as s:
        t0 = time.perf_counter()
        backbone = create_backbone(args.model, weights=args.weights).to(args.device)
        load = time.perf_counter() - t0
        t1 = time.perf_counter()
        n, held = (reference if args.child == "reference" else pipeline)(args, backbone)
        if gpu is not None:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "mode": args.child,
                "n": n,
                "load_s": load,
                "seconds": seconds,
                "images_per_s": n / seconds,
                "features_held_mib": held / 2**20,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_growth_mib": (s.peak - s.base) / 2**20,
                "gpu_util_mean": statistics.fmean(s.util) if s.util else None,
                "gpu_util_samples": len(s.util),
                "cuda_max_allocated_mib": (torch.cuda.max_memory_allocated() / 2**20)
                if gpu is not None
                else None,
            }
        )
    )


# -- the comparison (parent process) ------------------------------------------------------------------
def run_child(
    mode: str, args: argparse.Namespace, model: str, weights: Path, images: Path, root: Path
) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--model-name",
        model,
        *(["--weights", str(weights)] if weights else []),
        "--images",
        str(images),
        "--root",
        str(root),
        "--device",
        args.device,
        "--precision",
        args.precision,
        "--batch-size",
        str(args.batch_size),
        "--workers",
        str(args.workers),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    if out.returncode != 0:
        sys.exit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({cpu}){gpu}; load average at start "
        f"{load}; torch {torch.__version__}, {platform.python_implementation()} "
        f"{platform.python_version()}"
    )


def write_section(key: str, text: str, results: Path = RESULTS, mark: str = MARK) -> None:
    """Replace this configuration's section of ``results`` (between ``mark``s), keep the rest."""
    start, end = mark.format(key=key, edge="start"), mark.format(key=key, edge="end")
    old = results.read_text() if results.exists() else "# Benchmark results\n"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    if start in old and end in old:
        rest = old[old.index(end) + len(end) :].lstrip("\n")
        new = old[: old.index(start)] + block + ("\n" + rest if rest else "")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    results.write_text(new)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument(
        "--models",
        default=None,
        help=f"comma list of {', '.join(MODELS)} (default: vit-b32 on cpu, "
        "vit-l14,dinov2-g14 on cuda)",
    )
    p.add_argument("--n-images", type=int, default=None, help="default 256 (cpu), 5120 (cuda)")
    p.add_argument("--batch-size", type=int, default=None, help="default 32 (cpu), 256 (cuda)")
    p.add_argument("--workers", type=int, default=None, help="default 2 (cpu), 8 (cuda)")
    p.add_argument("--precision", default=None, help="default fp32 (cpu), fp16 (cuda)")
    p.add_argument("--image-side", type=int, default=256, help="side of the generated JPEGs")
    p.add_argument(
        "--repeats", type=int, default=1, help="alternating runs of each; the best counts"
    )
    p.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    # child mode (internal)
    p.add_argument("--child", choices=["reference", "pipeline"], help=argparse.SUPPRESS)
    p.add_argument("--model-name", dest="model", help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--images", help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    args = p.parse_args()
    gpu = args.device == "cuda"
    args.batch_size = args.batch_size or (256 if gpu else 32)
    args.workers = args.workers if args.workers is not None else (8 if gpu else 2)
    args.precision = args.precision or ("fp16" if gpu else "fp32")
    if args.child:
        child(args)
        return
    n_images = args.n_images or (5120 if gpu else 256)
    names = (args.models or ("vit-l14,dinov2-g14" if gpu else "vit-b32")).split(",")
    started = machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hume-bench-") as tmp:
        tmp = Path(tmp)
        images = tmp / "images"
        make_images(images, n_images, side=args.image_side)
        for name in names:
            model, kind, arch = MODELS[name]
            weights = make_weights(kind, arch, tmp)
            runs: dict[str, list[dict]] = {"reference": [], "pipeline": []}
            for _ in range(args.repeats):
                for mode in ("reference", "pipeline"):
                    r = run_child(mode, args, model, weights, images, tmp / "ws")
                    print(json.dumps({"model": name, **r}), flush=True)
                    runs[mode].append(r)
            best = {m: max(rs, key=lambda r: r["images_per_s"]) for m, rs in runs.items()}
            rows.append((name, best["reference"], best["pipeline"], runs))
            # written after every model, so a time limit on a later one loses no measured row
            text = section(args, names, n_images, started, rows, gpu)
            if not args.no_write:
                write_section(f"{args.device}:{'+'.join(names)}", text)
    print(text)


def section(
    args: argparse.Namespace, names: list[str], n_images: int, started: str, rows: list, gpu: bool
) -> str:
    """The RESULTS.md section for the models measured so far."""
    lines = [
        f"## Embed speed ({args.device}, {', '.join(names)}): `hume embed` vs a plain loop",
        "",
        f"Machine: {started}.",
        f"Command: `python bench/embed_speed.py --device {args.device}"
        f"{' --models ' + args.models if args.models else ''} --n-images {n_images} "
        f"--image-side {args.image_side} --batch-size {args.batch_size} --workers {args.workers} --precision {args.precision} "
        f"--repeats {args.repeats}`.",
        f"Data: {n_images} generated {args.image_side} x {args.image_side} JPEGs (imagefolder); random weights; the same "
        "backbone, transform, batch size, workers, device and precision on both sides. Time from "
        "model loaded to features in memory (reference) or store complete on disk (pipeline); "
        "model loading (same code on both sides) is not counted. Peak RSS: ru_maxrss of each "
        "run's own process; growth: sampled RSS peak minus RSS before the model was loaded. "
        "Features held: the reference's final array (its list of batches doubles it at the "
        "end); the pipeline's bound of three chunks (filling, queued, being written).",
        "",
        "| model | reference img/s | pipeline img/s | ratio | reference peak RSS / growth (MiB) "
        "| pipeline peak RSS / growth (MiB) | features held in host memory ref / pipe (MiB) "
        "| GPU util ref / pipe |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, ref, pipe, _ in rows:
        util = (
            "–"
            if ref["gpu_util_mean"] is None
            else f"{ref['gpu_util_mean']:.0f}% / {pipe['gpu_util_mean']:.0f}%"
        )
        lines.append(
            f"| {name} | {ref['images_per_s']:.2f} | {pipe['images_per_s']:.2f} | "
            f"{pipe['images_per_s'] / ref['images_per_s']:.2f} | {ref['peak_rss_mib']:.0f} / "
            f"{ref['rss_growth_mib']:.0f} | {pipe['peak_rss_mib']:.0f} / {pipe['rss_growth_mib']:.0f} "
            f"| {ref['features_held_mib']:.1f} / ≤ {pipe['features_held_mib']:.1f} | {util} |"
        )
    lines.append("")
    for name, _, _, runs in rows:
        each = "; ".join(
            f"{m} " + ", ".join(f"{r['images_per_s']:.2f}" for r in rs) for m, rs in runs.items()
        )
        lines.append(
            f"Every run of {name} (img/s, in run order, alternating; the table shows the "
            f"best of each): {each}."
        )
    if not gpu and "vit-b32" in names:
        lines += [
            "",
            "GPU configuration (`python bench/embed_speed.py --device cuda`: random-weight ViT-L/14 "
            "(QuickGELU) and DINOv2 ViT-g/14, batch 256, fp16 autocast, 8 workers, 5120 images, "
            "GPU utilisation sampled with nvidia-smi every 0.2 s): not measured here, this machine "
            "has no GPU.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
