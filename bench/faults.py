"""Nothing lost, nothing silently wrong, measured: dozens of kills, damaged chunks, bad inputs.

The long version of tests/test_faults.py, with the same helpers and the same table of bad
command lines:

- embed: a folder of generated images (nested folders, a few files that are not images, one
  undecodable image: ``imagefolder:`` takes any folder of images) is embedded with ``pixels`` into
  Zarr and HDF5 stores by child processes that are SIGKILLed at seeded random points, half of
  them at a random instant, half through ``HUME_EMBED_FAULT`` (after a chunk's flag, or between
  its rows and its checksum); each store is resumed until complete and compared row by row with
  an uninterrupted store;
- search: digits (hog, pixels) searched by children SIGKILLed the same way (``HUME_SEARCH_FAULT``
  after a random checkpoint, or at a random instant), resumed, and compared label by label
  (every seed's labels and the ensemble) with an uninterrupted run;
- damage: copies of the stores damaged at random (bytes flipped, truncated, missing, replaced by
  another valid chunk, the chunk of another array, checksum or flag missing, labels flipped), each
  checked by ``hume verify`` and by a reader (``load_view``), then repaired and compared byte for
  byte with the original;
- bad inputs: every line of tests/test_faults.py's table run as a real ``python -m hume`` process:
  clean means exit 2, one ``error:`` line, no traceback.

  python bench/faults.py              # 2 000 images, 30 kills per store format, 30 search kills
  python bench/faults.py --quick      # a smoke run

The result is written as one section of bench/RESULTS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test suite's helpers and table

import embed_speed  # noqa: E402 - bench/ is on the path when run as a script
import test_faults as tf  # noqa: E402

MARK = "<!-- faults:{key}:{edge} -->"
IMAGE_EMBED = ("--model", "pixels", "--workers", "0", "--chunk-rows", "64", "--batch-size", "64")
SEARCH = ["--views", "hog,pixels", "--dataset", "digits", "--iters", "40", "--inner-steps", "5"]
SEARCH += ["--subsets", "2", "--seeds", "4", "--device", "cpu"]


# -- inputs ---------------------------------------------------------------------------------------
def make_folder(folder: Path, n: int) -> None:
    """``n`` generated images in class folders, some nested deeper, plus files that are not
    images and one undecodable image (both skipped and counted by ``imagefolder:``)."""
    embed_speed.make_images(folder, n, side=48)
    for i, image in enumerate(sorted(folder.rglob("*.jpg"))):
        if i % 7 == 0:  # nested one level deeper
            (image.parent / "deeper").mkdir(exist_ok=True)
            image.rename(image.parent / "deeper" / image.name)
    (folder / "README.txt").write_text("not an image")
    (folder / "class0" / "broken.jpg").write_bytes(b"not a jpeg")


def rows_lost(path: Path, reference: Path) -> int:
    """Rows of ``path`` that differ from (or are missing against) the reference store."""
    from hume.store import open_store

    with open_store(reference) as want:
        b = want.read_features()
        paths, labels = want.read_paths(), want.read_labels()
    try:
        with open_store(path) as got:
            a = got.read_features()
            same = got.read_paths() == paths and np.array_equal(got.read_labels(), labels)
    except ValueError:  # incomplete or damaged: every row counts as lost
        return len(b)
    if a.shape != b.shape or not same:
        return len(b)
    return int((a.view(np.uint16) != b.view(np.uint16)).any(axis=1).sum())


# -- kills ----------------------------------------------------------------------------------------
def kill_until_complete(
    next_args: Callable[[], tuple],
    hook: tuple[str, list[str], int],
    done: Callable[[], bool],
    rng: random.Random,
    span_s: float,
) -> tuple[int, int]:
    """Start ``hume *next_args()`` again and again until ``done()``, each child SIGKILLed at a
    random point: half through the test hook (``hook``: variable, kinds, points), half at a
    random instant within ``span_s``. A child the kill misses finishes the work. Returns
    (kills that landed, children started)."""
    env_name, kinds, points = hook
    kills = runs = 0
    while not done():
        if rng.random() < 0.5:
            fault = f"{rng.choice(kinds)}:{rng.randint(1, points)}"
            proc = tf._cli(*next_args(), env={env_name: fault})
            proc.join(timeout=600)
        else:
            proc = tf._cli(*next_args(), env={})
            proc.join(timeout=rng.uniform(0.0, span_s))
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
                proc.join()
        runs += 1
        kills += proc.exitcode == -signal.SIGKILL
        if runs > 20 * points:
            raise RuntimeError(f"no progress after {runs} children of hume {next_args()[0]}")
    return kills, runs


def _opens(path: Path) -> bool:
    from hume.store import open_store

    try:
        with open_store(path):
            return True
    except ValueError:
        return False


def embed_kills(work: Path, folder: Path, fmt: str, target: int, rng: random.Random) -> dict:
    """Fresh stores killed until complete, until ``target`` kills have landed; every finished
    store compared with an uninterrupted one."""
    from hume.store import open_store, store_path

    args = (*IMAGE_EMBED, "--dataset", f"imagefolder:{folder}", "--format", fmt)
    ref_root = work / f"ref-{fmt}"
    started = time.perf_counter()
    tf._ok(tf._invoke("embed", *args, "--root", ref_root))
    span = time.perf_counter() - started + 1.0  # a child also opens the dataset
    reference = store_path(ref_root, folder.name, "all", "pixels", fmt)
    with open_store(reference) as st:
        n_rows, n_chunks = st.n_rows, st.n_chunks
    out = {"kills": 0, "runs": 0, "trials": 0, "rows": n_rows, "lost": 0, "identical": 0}
    while out["kills"] < target:
        root = work / f"{fmt}-{out['trials']}"
        path = store_path(root, folder.name, "all", "pixels", fmt)
        kills, runs = kill_until_complete(
            lambda root=root: ("embed", *args, "--root", root),
            ("HUME_EMBED_FAULT", ["kill", "kill-before-flag"], n_chunks),
            lambda path=path: _opens(path),
            rng,
            span,
        )
        out["kills"] += kills
        out["runs"] += runs
        out["trials"] += 1
        out["lost"] += rows_lost(path, reference)
        out["identical"] += tf.store_bytes(path) == tf.store_bytes(reference)
        shutil.rmtree(root)
    return out


def search_kills(root: Path, target: int, rng: random.Random) -> dict:
    """Fresh runs killed until complete, until ``target`` kills have landed; every finished run
    compared label by label with an uninterrupted one."""
    started = time.perf_counter()
    tf._ok(tf._invoke("search", *SEARCH, "--root", root, "--run", "ref"))
    span = time.perf_counter() - started + 1.0
    want = {n: np.load(root / "runs" / "ref" / n) for n in ("seeds.npz", "ensemble.npz")}
    out = {"kills": 0, "runs": 0, "trials": 0, "labels": 0, "changed": 0, "scores_equal": True}
    while out["kills"] < target:
        name = f"cut{out['trials']}"
        run = root / "runs" / name

        def next_args(name: str = name, run: Path = run) -> tuple:
            if (run / "config.json").exists():
                return ("search", "--resume", "--run", name, "--root", root)
            return ("search", *SEARCH, "--root", root, "--run", name)

        def complete(run: Path = run) -> bool:
            config = run / "config.json"
            return config.exists() and '"status": "complete"' in config.read_text()

        iters = int(SEARCH[SEARCH.index("--iters") + 1])
        kills, runs = kill_until_complete(
            next_args, ("HUME_SEARCH_FAULT", ["kill"], iters), complete, rng, span
        )
        out["kills"] += kills
        out["runs"] += runs
        out["trials"] += 1
        for file, arrays in want.items():
            got = np.load(run / file)
            for key in arrays.files:
                if key.endswith("labels"):
                    out["labels"] += arrays[key].size
                    out["changed"] += int((got[key] != arrays[key]).sum())
                else:
                    out["scores_equal"] &= bool(np.array_equal(got[key], arrays[key]))
    return out


# -- damage ---------------------------------------------------------------------------------------
def _zarr_damage(path: Path, kind: str, chunk: int, other: int, rng: random.Random) -> str:
    """Damage a Zarr store; returns what the refusal must name."""
    file = path / "features" / "c" / str(chunk) / "0"
    if kind == "bytes flipped":
        tf._flip(file, rng.randrange(file.stat().st_size - 4))
    elif kind == "truncated":
        os.truncate(file, rng.randrange(file.stat().st_size))
    elif kind == "chunk file missing":
        file.unlink()
    elif kind == "another valid chunk":
        shutil.copy(path / "features" / "c" / str(other) / "0", file)
    elif kind == "chunk of another array":
        file.write_bytes(np.ones((64, 32), "<f2").tobytes())
    elif kind == "checksum missing":
        (path / "_crc32" / "c" / str(chunk)).unlink()
    elif kind == "flag missing":
        (path / "_done" / "c" / str(chunk)).unlink()
    else:  # labels flipped
        tf._flip(path / "labels" / "c" / "0", 16)
        return "its labels"
    return f"(chunk {chunk})"


def _hdf5_damage(path: Path, kind: str, chunk: int, other: int, rng: random.Random) -> str:
    if kind == "bytes flipped":
        offset, size = tf._h5_chunk(path, chunk)
        tf._flip(path, offset + rng.randrange(size - 4))
    elif kind == "another valid chunk":
        tf._h5_copy_chunk(path, other, chunk)
    elif kind == "checksum flipped":
        tf._flip(path, tf._h5_chunk(path, 0, "_crc32")[0] + 8 * chunk, 2)
    else:  # labels flipped
        tf._flip(path, tf._h5_chunk(path, 0, "labels")[0] + 16)
        return "its labels"
    return f"(chunk {chunk})"


ZARR_KINDS = [
    "bytes flipped",
    "truncated",
    "chunk file missing",
    "another valid chunk",
    "chunk of another array",
    "checksum missing",
    "flag missing",
    "labels flipped",
]
HDF5_KINDS = ["bytes flipped", "another valid chunk", "checksum flipped", "labels flipped"]


def damage_trials(work: Path, folder: Path, trials: int, rng: random.Random) -> dict:
    """Damage copies of the stores at random; count what `hume verify` and a reader catch, and
    whether `hume verify --repair` restores the original bytes."""
    from hume.search.search_runs.view_loading import load_view
    from hume.store import open_store, store_path

    out = {"trials": 0, "verify": 0, "read": 0, "missed": 0, "repaired": 0, "kinds": set()}
    for i in range(trials):
        fmt = "zarr" if i % 3 else "hdf5"
        kinds, damage = (ZARR_KINDS, _zarr_damage) if fmt == "zarr" else (HDF5_KINDS, _hdf5_damage)
        kind = rng.choice(kinds)
        reference = store_path(work / f"ref-{fmt}", folder.name, "all", "pixels", fmt)
        with open_store(reference) as st:
            full = st.n_rows // st.chunk_rows  # chunks of full length
        chunk, other = rng.sample(range(full), 2)
        path = store_path(work / "damage", folder.name, "all", "pixels", fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if fmt == "zarr" else shutil.copy)(reference, path)
        named = damage(path, kind, chunk, other, rng)
        r = tf._invoke("verify", path)
        lines = [line for line in r.output.splitlines() if line.strip()]
        by_verify = r.exit_code == 2 and len(lines) == 1 and named in lines[0]
        try:
            with open_store(path) as st:
                load_view(st) if named != "its labels" else st.read_labels()
            by_reader = False
        except ValueError as exc:
            by_reader = named in str(exc)
        out["trials"] += 1
        out["verify"] += by_verify
        out["read"] += by_reader
        out["missed"] += not (by_verify and by_reader)
        out["kinds"].add(f"{kind} ({fmt})")
        fixed = tf._invoke("verify", path, "--repair").exit_code == 0
        out["repaired"] += fixed and tf.store_bytes(path) == tf.store_bytes(reference)
        shutil.rmtree(work / "damage")
    return out


# -- bad inputs -----------------------------------------------------------------------------------
def bad_inputs(work: Path) -> dict:
    """Every line of tests/test_faults.py's table as a real process: exit 2, one `error:` line."""
    from concurrent.futures import ThreadPoolExecutor

    base = work / "bad"
    base.mkdir()
    tf.make_bad_inputs(base)
    env = {**os.environ, "HUME_ROOT": str(base / "ws"), "OMP_NUM_THREADS": "1"}

    def clean(case: str) -> str | None:
        """None when the line is refused cleanly, else what came out."""
        line, fragment = tf.BAD_LINES[case]
        args = [a.replace("{base}", str(base)) for a in line]
        r = subprocess.run(
            [sys.executable, "-m", "hume", *args],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        out = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
        ok = r.returncode == 2 and len(out) == 1 and out[0].startswith("error: ")
        if ok and fragment in out[0] and "Traceback" not in r.stderr:
            return None
        return f"exit {r.returncode}: {(r.stdout + r.stderr)[-500:]}"

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        verdicts = dict(zip(tf.BAD_LINES, pool.map(clean, tf.BAD_LINES)))
    for case, what in verdicts.items():
        if what is not None:
            print(f"not clean: {case}: {what}", file=sys.stderr)
    return {
        "total": len(verdicts),
        "clean": sum(v is None for v in verdicts.values()),
        "not": [k for k, v in verdicts.items() if v is not None],
    }


# -- the section --------------------------------------------------------------------------------
def section(args: argparse.Namespace, machine: str, r: dict, seconds: float) -> str:
    e, s, d, b = r["embed"], r["search"], r["damage"], r["bad"]
    embed_rows = [
        f"| embed into {fmt} (`pixels`, {e[fmt]['rows']} images, {e[fmt]['trials']} stores) | "
        f"{e[fmt]['kills']} of {e[fmt]['runs']} children | {e[fmt]['lost']} rows lost; "
        f"{e[fmt]['identical']} of {e[fmt]['trials']} stores byte-identical to the uninterrupted one |"
        for fmt in ("zarr", "hdf5")
    ]
    not_clean = f" (not clean: {', '.join(b['not'])})" if b["not"] else ""
    return "\n".join(
        [
            "## Fault injection: kills, damaged chunks, bad inputs (`bench/faults.py`)",
            "",
            f"Machine: {machine}. Command: `python bench/faults.py"
            f"{' --quick' if args.quick else ''}` (seed {args.seed}, {seconds / 60:.1f} min). "
            "Kills are SIGKILLs of child processes, half at a random instant, half through the "
            "test hooks at a random chunk or checkpoint (`hume/core/faults.py`); damaged copies of the stores, each of one kind drawn at random; bad command lines from tests/test_faults.py's table, each a real process. Damage to the metadata (broken, another dtype or shape, a truncated HDF5 file) is not drawn here: tests/test_faults.py refuses each kind. Every choice is drawn from the seed, but whether a kill at a random instant lands before the child finishes depends on the machine's timing, so the counts differ from run to run; the losses must not.",
            "",
            "| what | killed | result |",
            "|---|---|---|",
            *embed_rows,
            f"| search (digits, hog + pixels, {s['trials']} runs of 4 seeds) | {s['kills']} of "
            f"{s['runs']} children | {s['changed']} of {s['labels']} labels changed; scores "
            f"{'identical' if s['scores_equal'] else 'DIFFERENT'} |",
            "",
            "| damage | result |",
            "|---|---|",
            f"| damaged chunks detected (`hume verify` and a reader both refuse, naming the rows) | "
            f"{d['trials'] - d['missed']} of {d['trials']} (missed: {d['missed']}) |",
            f"| repaired by `hume verify --repair` to the original bytes | {d['repaired']} of {d['trials']} |",
            f"| kinds of damage drawn | {', '.join(sorted(d['kinds']))} |",
            f"| bad command lines refused cleanly (exit 2, one line, no traceback) | "
            f"{b['clean']} / {b['total']}{not_clean} |",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2000, help="generated images to embed")
    p.add_argument("--kills", type=int, default=30, help="kills per store format and of search")
    p.add_argument("--damage", type=int, default=60, help="damaged copies to check")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--quick", action="store_true", help="a smoke run: few images and kills")
    p.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    p.add_argument("--results", type=Path, default=embed_speed.RESULTS, help="where to write")
    args = p.parse_args()
    if args.quick:
        args.images, args.kills, args.damage = 300, 3, 6
    import torch

    torch.set_num_threads(1)
    machine = embed_speed.machine()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "images"
        make_folder(folder, args.images)
        results["embed"] = {
            fmt: embed_kills(work, folder, fmt, args.kills, rng) for fmt in ("zarr", "hdf5")
        }
        print(f"embed ({time.perf_counter() - started:.0f} s):", results["embed"], flush=True)
        root = work / "search"
        for model in ("hog", "pixels"):
            tf._ok(tf._invoke("embed", "--model", model, "--dataset", "digits", "--root", root))
        results["search"] = search_kills(root, args.kills, rng)
        print(f"search ({time.perf_counter() - started:.0f} s):", results["search"], flush=True)
        results["damage"] = damage_trials(work, folder, args.damage, rng)
        print(f"damage ({time.perf_counter() - started:.0f} s):", results["damage"], flush=True)
        results["bad"] = bad_inputs(work)
        print(f"bad inputs ({time.perf_counter() - started:.0f} s):", results["bad"], flush=True)
    text = section(args, machine, results, time.perf_counter() - started)
    print(text)
    if not args.no_write:
        embed_speed.write_section("all", text, results=args.results, mark=MARK)


if __name__ == "__main__":
    main()
