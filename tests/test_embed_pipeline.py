"""The embed stage end to end: `hume embed` into stores, resume after a kill, two ranks, bad input.

Models are tiny random-weight backbones saved to disk and loaded through the real `--weights`
path (an open_clip directory, a transformers `save_pretrained` directory); data are scikit-learn's
digits and small image folders made here.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, free_port, invoke

from hume.store import open_store, store_path

REPO = Path(__file__).resolve().parents[1]
#: attributes that describe what a store holds (creation time and id differ run to run)
IDENTITY = (
    "dataset",
    "split",
    "model",
    "weights",
    "feature_kind",
    "preprocessing",
    "dtype",
    "n_rows",
    "dim",
    "chunk_rows",
    "num_classes",
    "classes",
    "precision",
)


def _invoke(*args):
    return invoke("embed", *args)


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _interruptible() -> None:
    """In the child before it starts: Ctrl-C as a terminal delivers it. A test run started in the
    background of a non-interactive shell (`make test &`) inherits SIGINT ignored, and Python
    then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args, env=None, **kwargs):
    """`python -m hume embed ...` in a subprocess (for kills, signals and torchrun)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "hume", "embed", *map(str, args)],
        cwd=REPO,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
        **kwargs,
    )


def _same_store(a, b):
    """Features bit for bit, labels, and every descriptive attribute."""
    with open_store(a) as sa, open_store(b) as sb:
        fa, fb = sa.read_features(), sb.read_features()
        assert fa.dtype == fb.dtype and fa.shape == fb.shape
        assert fa.tobytes() == fb.tobytes()
        np.testing.assert_array_equal(sa.read_labels(), sb.read_labels())
        for key in IDENTITY:
            assert sa.attrs.get(key) == sb.attrs.get(key), key


def _digits_pixels_expected():
    """Independent of hume: digits scaled to 0..255, grey in [0, 1], standardised per image."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8).reshape(len(bunch.images), -1)
    x = grey.astype(np.float32) / 255.0
    x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
    return x, bunch.target


# -- fixtures: data and tiny models on disk --------------------------------------------------------
COUNTS = {"ant": 3, "bee": 5, "cat": 4}  # uneven, so labels and order are checked for real


def _write_images(folder, counts, seed):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c, (cls, n) in enumerate(counts.items()):
        (folder / cls).mkdir(parents=True)
        for j in range(n):
            side = int(rng.integers(24, 48))  # mixed sizes: the transform must resize
            img = rng.integers(0, 255, size=(side, side + 3, 3), dtype=np.uint8)
            img[..., c] = 255 - 20 * j  # a class colour
            Image.fromarray(img).save(folder / cls / f"img{j:02d}.png")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """One image folder (split ``all``): 12 images in 3 classes."""
    root = tmp_path_factory.mktemp("imgs") / "pets"
    _write_images(root, COUNTS, seed=1)
    return root


@pytest.fixture(scope="module")
def split_folder(tmp_path_factory):
    """An image folder with train/ and test/ sub-folders (two splits)."""
    root = tmp_path_factory.mktemp("imgs2") / "zoo"
    _write_images(root / "train", {"ant": 4, "bee": 3}, seed=2)
    _write_images(root / "test", {"ant": 2, "bee": 3}, seed=3)
    return root


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    """A random-weight tiny open_clip ViT saved as an open_clip model directory."""
    import open_clip
    import torch

    cfg = {
        "embed_dim": 16,
        "vision_cfg": {
            "image_size": 32,
            "layers": 1,
            "width": 32,
            "head_width": 16,
            "patch_size": 8,
        },
        "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
    }
    torch.manual_seed(0)
    model = open_clip.CLIP(**cfg)
    out = tmp_path_factory.mktemp("clip")
    torch.save(model.state_dict(), out / "open_clip_pytorch_model.bin")
    (out / "open_clip_config.json").write_text(
        json.dumps(
            {
                "model_cfg": cfg,
                "preprocess_cfg": {
                    "image_size": 32,
                    "mean": [0.48, 0.45, 0.40],
                    "std": [0.27, 0.26, 0.27],
                },
            }
        )
    )
    return out


@pytest.fixture(scope="module")
def dino_dir(tmp_path_factory):
    """A random-weight tiny DINOv2 saved with save_pretrained."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    model = Dinov2Model(
        Dinov2Config(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=56,
            patch_size=14,
        )
    )
    out = tmp_path_factory.mktemp("dino")
    model.save_pretrained(out)
    return out


def _expected(model, weights, dataset, split, feature="cls"):
    """Each sample encoded alone, in dataset order, straight from the registries."""
    import tempfile

    import torch

    from hume.embed.backbones import create_backbone
    from hume.embed.datasets import get_dataset

    data = get_dataset(dataset, split, tempfile.mkdtemp())  # image folders cache their scan there
    bb = create_backbone(
        model, weights=weights, feature=feature, image_size=data.info.get("image_size")
    )
    with torch.no_grad():
        rows = [
            bb.encode(bb.transform(data.dataset[i][0])[None])[0].numpy()
            for i in range(len(data.dataset))
        ]
    return np.stack(rows), data.labels


# -- classical views on digits --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["zarr", "hdf5"])
def test_digits_pixels_end_to_end(tmp_path, fmt):
    ws = tmp_path / "ws"
    result = _ok(
        _invoke(
            "--model",
            "pixels",
            "--dataset",
            "digits",
            "--root",
            ws,
            "--format",
            fmt,
            "--workers",
            "0",
            "--batch-size",
            "128",
            "--dtype",
            "float32",
        )
    )
    path = store_path(ws, "digits", "all", "pixels", fmt)
    assert f"wrote {path}" in result.output
    x, y = _digits_pixels_expected()
    with open_store(path) as st:
        feats = st.read_features()
        assert feats.shape == (1797, 64) and feats.dtype == np.float32
        np.testing.assert_allclose(feats, x, rtol=1e-5, atol=1e-5)  # row i == sample i
        np.testing.assert_array_equal(st.read_labels(), y)
        a = st.attrs
        assert a["complete"] and a["dataset"] == "digits" and a["split"] == "all"
        assert a["model"] == "pixels" and a["num_classes"] == 10 and a["classes"][3] == "3"
        assert a["chunk_rows"] == 1024 and a["batch_size"] == 128 and a["precision"] == "fp32"
        assert a["weights"] and a["feature_kind"] and a["preprocessing"]


def test_digits_hog_with_workers(tmp_path):
    ws = tmp_path / "ws"
    _ok(
        _invoke(
            "--model",
            "hog",
            "--dataset",
            "digits",
            "--split",
            "test",
            "--root",
            ws,
            "--workers",
            "2",
            "--batch-size",
            "50",
            "--chunk-rows",
            "100",
        )
    )
    expected, labels = _expected("hog", None, "digits", "test")
    with open_store(store_path(ws, "digits", "test", "hog")) as st:
        feats = st.read_features()
        assert feats.shape == (449, 324) and feats.dtype == np.float16 and st.n_chunks == 5
        np.testing.assert_allclose(feats.astype(np.float32), expected, rtol=2e-3, atol=2e-3)
        np.testing.assert_array_equal(st.read_labels(), labels)
        assert st.attrs["model"] == "hog" and "HOG" in st.attrs["feature_kind"]


# -- tiny random-weight backbones through --weights -------------------------------------------------
def test_tiny_clip_on_image_folder(tmp_path, folder, clip_dir):
    ws = tmp_path / "ws"
    _ok(
        _invoke(
            "--model",
            "clip-b32",
            "--weights",
            clip_dir,
            "--dataset",
            f"imagefolder:{folder}",
            "--root",
            ws,
            "--workers",
            "0",
            "--batch-size",
            "5",
            "--chunk-rows",
            "5",
            "--dtype",
            "float32",
        )
    )
    expected, labels = _expected("clip-b32", clip_dir, f"imagefolder:{folder}", "all")
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], list(COUNTS.values())))
    with open_store(store_path(ws, "pets", "all", "clip-b32")) as st:
        feats = st.read_features()
        assert feats.shape == (12, 16) and feats.dtype == np.float32 and st.n_chunks == 3
        np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(st.read_labels(), labels)
        a = st.attrs
        assert a["classes"] == list(COUNTS) and a["num_classes"] == 3
        assert a["weights"] == str(clip_dir.resolve()) and a["source"] == "open_clip"
        assert "Normalize" in a["preprocessing"] and a["dataset_spec"] == f"imagefolder:{folder}"
        assert "torch" in a["versions"] and "open_clip_torch" in a["versions"]


def test_tiny_clip_state_dict_file(tmp_path, folder, clip_dir):
    """`open_clip:ARCH` with a bare checkpoint file: the architecture comes from open_clip's
    registry (a tiny config registered here), the weights from the file."""
    import open_clip

    cfg = json.loads((clip_dir / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "hume-tiny-vit.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "hume-tiny-vit.json")
    weights = clip_dir / "open_clip_pytorch_model.bin"
    ws = tmp_path / "ws"
    _ok(
        _invoke(
            "--model",
            "open_clip:hume-tiny-vit",
            "--weights",
            weights,
            "--dataset",
            f"imagefolder:{folder}",
            "--root",
            ws,
            "--workers",
            "0",
            "--batch-size",
            "8",
        )
    )
    expected, labels = _expected("open_clip:hume-tiny-vit", weights, f"imagefolder:{folder}", "all")
    with open_store(store_path(ws, "pets", "all", "open_clip-hume-tiny-vit")) as st:
        assert st.n_rows == 12 and st.dim == 16 and st.attrs["weights"] == str(weights.resolve())
        np.testing.assert_allclose(
            st.read_features().astype(np.float32), expected, rtol=5e-3, atol=5e-3
        )
        np.testing.assert_array_equal(st.read_labels(), labels)


def test_tiny_dinov2_cls_and_cls_mean(tmp_path, folder, dino_dir):
    ws = tmp_path / "ws"
    for feature, name, dim in (("cls", "dinov2-s", 32), ("cls+mean", "dinov2-s-clsmean", 64)):
        _ok(
            _invoke(
                "--model",
                "dinov2-s",
                "--weights",
                dino_dir,
                "--feature",
                feature,
                "--dataset",
                f"imagefolder:{folder}",
                "--root",
                ws,
                "--workers",
                "0",
                "--batch-size",
                "4",
            )
        )
        expected, labels = _expected("dinov2-s", dino_dir, f"imagefolder:{folder}", "all", feature)
        with open_store(store_path(ws, "pets", "all", name)) as st:
            feats = st.read_features()
            assert feats.shape == (12, dim) and feats.dtype == np.float16
            np.testing.assert_allclose(feats.astype(np.float32), expected, rtol=5e-3, atol=5e-3)
            np.testing.assert_array_equal(st.read_labels(), labels)
            assert "crop" in st.attrs["preprocessing"].lower()
            assert ("mean patch" in st.attrs["feature_kind"]) == (feature == "cls+mean")


def test_every_split_by_default_and_skip_complete(tmp_path, split_folder, clip_dir):
    ws = tmp_path / "ws"
    args = (
        "--model",
        "clip-b32",
        "--weights",
        clip_dir,
        "--dataset",
        f"imagefolder:{split_folder}",
        "--root",
        ws,
        "--workers",
        "0",
    )
    _ok(_invoke(*args))  # no --split: train and test
    sizes = {"train": 7, "test": 5}
    for split, n in sizes.items():
        with open_store(store_path(ws, "zoo", split, "clip-b32")) as st:
            assert (
                st.n_rows == n
                and st.attrs["split"] == split
                and st.attrs["classes"] == ["ant", "bee"]
            )
    # all complete: nothing to do (one line, exit 0); one missing: the complete one is skipped,
    # the missing one made
    again = _ok(_invoke(*args)).output
    assert again.startswith("nothing to do:") and len(again.strip().splitlines()) == 1, again
    test_path = store_path(ws, "zoo", "test", "clip-b32")
    with open_store(store_path(ws, "zoo", "train", "clip-b32")) as st:
        train_id = st.attrs["store_id"]
    import shutil

    shutil.rmtree(test_path)
    out = _ok(_invoke(*args)).output
    assert "skip" in out and test_path.exists()
    with open_store(store_path(ws, "zoo", "train", "clip-b32")) as st:
        assert st.attrs["store_id"] == train_id  # untouched


# -- resume -------------------------------------------------------------------------------------------
def test_killed_run_resumes_to_identical_store(tmp_path, folder, clip_dir):
    args = [
        "--model",
        "clip-b32",
        "--weights",
        clip_dir,
        "--dataset",
        f"imagefolder:{folder}",
        "--workers",
        "0",
        "--batch-size",
        "2",
        "--chunk-rows",
        "2",
        "--device",
        "cpu",
    ]
    ref, ws = tmp_path / "ref", tmp_path / "ws"
    _ok(_invoke(*args, "--root", ref))
    killed = _cli(*args, "--root", ws, env={"HUME_EMBED_FAULT": "kill:2"})
    killed.communicate(timeout=240)
    assert killed.returncode == -signal.SIGKILL
    path = store_path(ws, "pets", "all", "clip-b32")
    with open_store(path, allow_incomplete=True) as st:
        assert not st.is_complete and st.done_mask().tolist() == [1, 1, 0, 0, 0, 0]
    with pytest.raises(Exception, match="incomplete"):
        open_store(path)  # readers refuse it
    out = _ok(_invoke(*args, "--root", ws)).output
    assert "4 of 6 chunks left" in out
    _same_store(path, store_path(ref, "pets", "all", "clip-b32"))


def test_ctrl_c_then_rerun_continues(tmp_path):
    args = [
        "--model",
        "pixels",
        "--dataset",
        "digits",
        "--workers",
        "0",
        "--batch-size",
        "100",
        "--chunk-rows",
        "200",
    ]
    ws, ref = tmp_path / "ws", tmp_path / "ref"
    path = store_path(ws, "digits", "all", "pixels")
    proc = _cli(*args, "--root", ws, env={"HUME_EMBED_FAULT": "pause:3"})
    deadline = time.time() + 180
    while time.time() < deadline:  # wait until three chunks are flagged done, then press Ctrl-C
        if path.exists():
            with open_store(path, allow_incomplete=True) as st:
                if st.done_mask().sum() >= 3:
                    break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again" in err
    out = _ok(_invoke(*args, "--root", ws)).output
    assert "6 of 9 chunks left" in out
    _ok(_invoke(*args, "--root", ref))
    _same_store(path, store_path(ref, "digits", "all", "pixels"))


def test_unfinished_store_with_other_settings_is_refused(tmp_path):
    args = [
        "--model",
        "pixels",
        "--dataset",
        "digits",
        "--workers",
        "0",
        "--root",
        tmp_path,
        "--chunk-rows",
        "600",
    ]
    killed = _cli(*args, env={"HUME_EMBED_FAULT": "kill:1"})
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert_one_line_error(
        _invoke(*args, "--dtype", "float32"), "other settings", "dtype", "--overwrite"
    )
    assert_one_line_error(_invoke(*args[:-1], "500"), "chunk_rows")
    _ok(_invoke(*args, "--dtype", "float32", "--overwrite"))
    with open_store(store_path(tmp_path, "digits", "all", "pixels")) as st:
        assert st.dtype == "float32" and st.is_complete


# -- several processes ----------------------------------------------------------------------------------
def test_two_ranks_equal_one_process(tmp_path):
    args = [
        "--model",
        "pixels",
        "--dataset",
        "digits",
        "--workers",
        "0",
        "--batch-size",
        "100",
        "--chunk-rows",
        "200",
        "--device",
        "cpu",
    ]
    ws, ref = tmp_path / "ws", tmp_path / "ref"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={free_port()}",
            "-m",
            "hume",
            "embed",
            *map(str, args),
            "--root",
            str(ws),
        ],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # nine chunks round-robin: rank 0 takes 0,2,4,6,8 and rank 1 takes 1,3,5,7
    assert "rank 0/2: wrote 5 chunks" in proc.stderr and "rank 1/2: wrote 4 chunks" in proc.stderr
    _ok(_invoke(*args, "--root", ref))
    path = store_path(ws, "digits", "all", "pixels")
    _same_store(path, store_path(ref, "digits", "all", "pixels"))
    with open_store(path) as st:
        assert st.attrs["world_size"] == 2


def test_hdf5_refuses_several_writers(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--format", "hdf5", "--root", tmp_path),
        "one writer",
        "zarr",
    )


# -- bad input --------------------------------------------------------------------------------------------
def test_bad_input_is_one_line(tmp_path):
    base = ("--root", tmp_path, "--workers", "0")
    assert_one_line_error(
        _invoke("--model", "nope", "--dataset", "digits", *base), "unknown model", "nope"
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "nope", *base), "unknown dataset"
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--split", "val", *base), "no split"
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", f"imagefolder:{tmp_path / 'missing'}", *base),
        "does not exist",
    )
    assert_one_line_error(
        _invoke("--model", "dinov2", "--dataset", "imagenet", "--data-dir", tmp_path, *base),
        "ILSVRC2012_devkit_t12.tar.gz",
        str(tmp_path / "imagenet"),
    )
    assert_one_line_error(
        _invoke(
            "--model", "clip", "--weights", tmp_path / "nowhere.pt", "--dataset", "digits", *base
        ),
        "does not exist",
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--precision", "fp8", *base),
        "--precision",
        "'fp32', 'fp16', 'bf16'",
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--feature", "avg", *base),
        "--feature",
        "'cls', 'cls+mean'",
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--device", "tpu", *base),
        "unknown device 'tpu'",
    )
    assert_one_line_error(
        _invoke("--model", "pixels", "--dataset", "digits", "--device", "cuda", *base), "cuda"
    )
    assert not (tmp_path / "features").exists()  # nothing half-made


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_n_follows_the_one_device_rule(tmp_path):
    """`--device cuda:1` is a device like search's, refused here only because no GPU is visible."""
    result = _invoke(
        "--model",
        "pixels",
        "--dataset",
        "digits",
        "--root",
        tmp_path,
        "--workers",
        "0",
        "--device",
        "cuda:1",
    )
    assert_one_line_error(result, "no CUDA GPU is visible", "--device cpu")
    assert not (tmp_path / "features").exists()


def test_library_reports_progress_and_messages_and_prints_nothing(
    tmp_path, capfd, caplog, monkeypatch
):
    """`embed` tells its caller through a Reporter (one task per store, in images) and the `hume`
    logger (skip / resume / wrote), the same texts the command prints."""
    from hume.core.reporting import Reporter, Task, logger
    from hume.embed.pipeline import embed

    # as a library user has it: no command-layer handler (an earlier CLI test may have added one)
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    tasks = []

    class Recorder(Reporter):
        def task(self, description, total=None, unit="", **fields):
            tasks.append(
                {
                    "description": description,
                    "total": total,
                    "unit": unit,
                    "done": 0,
                    "closed": False,
                }
            )

            class Rec(Task):
                def advance(self, n=1, **f):
                    tasks[-1]["done"] += n

                def close(self):
                    tasks[-1]["closed"] = True

            return Rec()

    caplog.set_level("INFO", logger="hume")
    args = dict(root=tmp_path, workers=0, batch_size=100, chunk_rows=400, device="cpu")
    (path,) = embed("pixels", "digits", split="test", reporter=Recorder(), **args)
    assert tasks == [
        {"description": "test", "total": 449, "unit": "img", "done": 449, "closed": True}
    ]
    assert [r.getMessage() for r in caplog.records][-1].startswith(
        f"wrote {path} (449 x 64 float16"
    )
    (path_train,) = embed("pixels", "digits", split="train", **args)  # SILENT by default
    # complete: nothing to do, and the store of the request comes back all the same
    assert embed("pixels", "digits", split="test", **args) == [path]
    assert caplog.records[-1].getMessage().startswith(f"nothing to do: {path} already complete")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert len(tasks) == 1 and path_train.exists()


def test_existing_complete_store_is_a_no_op_and_overwrite_embeds_again(tmp_path):
    args = ("--model", "pixels", "--dataset", "digits", "--root", tmp_path, "--workers", "0")
    _ok(_invoke(*args))
    path = store_path(tmp_path, "digits", "all", "pixels")
    with open_store(path) as st:
        first = st.attrs["store_id"]
    again = _ok(_invoke(*args)).output
    assert again.startswith("nothing to do:") and "--overwrite" in again, again
    with open_store(path) as st:
        assert st.attrs["store_id"] == first  # untouched
    # other settings than the complete store's: refused, not silently "done"
    assert_one_line_error(_invoke(*args, "--dtype", "float32"), "other settings", "--overwrite")
    _ok(_invoke(*args, "--overwrite"))
    with open_store(path) as st:
        assert st.attrs["store_id"] != first and st.is_complete
    assert not list(path.parent.glob(".*creating*"))  # no leftovers of the atomic creation


def test_unreachable_weights_name_the_model(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path)}
    proc = _cli(
        "--model", "clip-b32", "--dataset", "digits", "--root", tmp_path, "--workers", "0", env=env
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err, err
    line = [x for x in err.splitlines() if x.startswith("error:")][0]
    assert "clip-b32" in line and "--weights" in line


# -- pieces -----------------------------------------------------------------------------------------
def test_chunk_batches_cover_each_row_once_within_chunks():
    from hume.embed.chunk_compute import ChunkBatches

    sampler = ChunkBatches([3, 0, 4], chunk_rows=10, n_rows=47, batch_size=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == sum(sampler.batches_per_chunk()) == 3 + 3 + 2
    rows = [i for b in batches for i in b]
    assert rows == [*range(30, 40), *range(0, 10), *range(40, 47)]  # chunk order, row order
    assert all(len({i // 10 for i in b}) == 1 for b in batches)  # no batch crosses a chunk


def test_write_failure_in_writer_thread_reaches_the_caller(tmp_path):
    import torch

    from hume.core.errors import HumeError
    from hume.embed.backbones import Backbone
    from hume.embed.chunk_compute import Transformed, compute_chunks
    from hume.store import create_store

    x = np.ones((12, 3), dtype=np.float32)
    x[7] = 1e6  # beyond float16: chunk 1 cannot be stored
    data = Transformed([(row, 0) for row in x], torch.from_numpy)
    identity = Backbone(name="id", transform=torch.from_numpy, dim=3, info={})
    store = create_store(tmp_path / "s.zarr", 12, 3, chunk_rows=5)
    with pytest.raises(HumeError, match="float32"):
        compute_chunks(store, [0, 1, 2], data, identity, torch.device("cpu"), "fp32", 2, 0)
    assert store.done_mask().tolist()[0] and not store.done_mask()[1]


def test_second_run_on_a_store_being_written_is_refused(tmp_path):
    args = [
        "--model",
        "pixels",
        "--dataset",
        "digits",
        "--workers",
        "0",
        "--root",
        tmp_path,
        "--chunk-rows",
        "600",
    ]
    path = store_path(tmp_path, "digits", "all", "pixels")
    proc = _cli(*args, env={"HUME_EMBED_FAULT": "pause:1"})
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (path.exists() and _n_done(path) >= 1):
            time.sleep(0.2)
        assert_one_line_error(_invoke(*args), "another `hume embed` is writing", str(path))
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    out = _ok(_invoke(*args)).output  # the lock died with the process
    assert "2 of 3 chunks left" in out


def _n_done(path):
    with open_store(path, allow_incomplete=True) as st:
        return int(st.done_mask().sum())
