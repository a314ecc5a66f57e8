"""A folder of unlabeled photos in, their classes out: embed → search → export → evaluate →
predict, through the commands, on generated images of four kinds (the kinds are known to the
test only, never written where hume could read them)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke
from PIL import Image

KINDS = 4
SIDE = 32


def kind_image(kind: int, rng: np.random.Generator) -> Image.Image:
    """One 32 × 32 image of a kind: horizontal stripes, vertical stripes, a disc, a checkerboard
    (random period, phase, size, colours and noise)."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    period, phase = rng.integers(6, 11), rng.integers(0, 10)
    if kind == 0:
        mask = ((y + phase) // (period // 2)) % 2 == 0
    elif kind == 1:
        mask = ((x + phase) // (period // 2)) % 2 == 0
    elif kind == 2:
        cy, cx, r = rng.integers(11, 21), rng.integers(11, 21), rng.integers(6, 10)
        mask = (y - cy) ** 2 + (x - cx) ** 2 <= r * r
    else:
        cell = period // 2
        mask = (((y + phase) // cell) + ((x + phase) // cell)) % 2 == 0
    fg, bg = rng.integers(150, 256, 3), rng.integers(0, 90, 3)
    img = np.where(mask[..., None], fg, bg) + rng.normal(0, 12, (SIDE, SIDE, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def make_folder(root: Path, n_per_kind: int, seed: int) -> dict[str, int]:
    """Images spread over the top level and sub-folders that are no classes; path -> kind."""
    rng = np.random.default_rng(seed)
    places = ["", "batch_a", "2024/june", "2024/july/extra"]
    kinds = {}
    order = rng.permutation(np.repeat(np.arange(KINDS), n_per_kind))
    for i, kind in enumerate(order):
        rel = f"{places[i % len(places)]}/img{i:04d}.png".lstrip("/")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        kind_image(int(kind), rng).save(root / rel)
        kinds[rel] = int(kind)
    return kinds


def cluster_acc(found: list[int], truth: list[int]) -> float:
    from hume.evaluate.metrics import cluster_accuracy

    return cluster_accuracy(np.asarray(truth), np.asarray(found))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def find_chromium() -> str | None:
    """A headless Chromium, installed with apt when missing and possible (root, Debian)."""
    names = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
    for name in names:
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        for package in ("chromium-headless-shell", "chromium"):
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", package],
                env=env,
                capture_output=True,
                timeout=900,
            )
            for name in names:
                if shutil.which(name):
                    return shutil.which(name)
    return None


def render(html: Path, shot: Path) -> str:
    """The DOM of ``html`` after Chromium loaded it, and a screenshot of the page."""
    browser = find_chromium()
    if browser is None:
        pytest.skip("no headless Chromium here and none could be installed (needs root + apt)")
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
    ]
    url = html.resolve().as_uri()
    shot_run = subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,1600", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot_run.returncode == 0, shot_run.stderr[-2000:]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The folder, a held-back folder of the same kinds, and a workspace with both embedded."""
    base = tmp_path_factory.mktemp("own")
    folder, held = base / "photos", base / "held"
    kinds = make_folder(folder, 60, seed=0)
    held_kinds = make_folder(held, 8, seed=1)
    (folder / "2024" / "notes.txt").write_text("a text file among the photos")
    (folder / "batch_a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(40))
    ws = base / "ws"
    embeds = {}
    for where in (folder, held):
        for model in ("hog", "pixels"):
            r = invoke(
                "embed",
                "--model",
                model,
                "--dataset",
                f"imagefolder:{where}",
                "--root",
                ws,
                "--workers",
                "0",
            )
            assert r.exit_code == 0, r.output
            embeds[(where.name, model)] = r.output
    return {
        "folder": folder,
        "held": held,
        "kinds": kinds,
        "held_kinds": held_kinds,
        "ws": ws,
        "embed_output": embeds,
    }


def test_the_skipped_files_are_said_once_per_embedding(photos):
    out = photos["embed_output"][("photos", "hog")]
    lines = [ln for ln in out.splitlines() if "skipped" in ln]
    assert len(lines) == 1, out
    assert "skipped 2 of 242 files" in lines[0]
    assert "notes.txt" in lines[0] and "broken.png" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, views",
    # TURTLE lets every view parametrise the labeling: the raw pixels of randomly shifted
    # patterns (1 024 dims for 240 images) would let it fit any labeling, so it gets hog alone
    [("hume", "hog,pixels"), ("turtle", "hog")],
)
def test_folder_to_classes_files_gallery_and_predictions(photos, method, views, tmp_path):
    ws, kinds = photos["ws"], photos["kinds"]
    run = f"own-{method}"
    r = invoke(
        "search",
        "--views",
        views,
        "--dataset",
        "photos",
        "--k",
        KINDS,
        "--seeds",
        "4",
        "--method",
        method,
        "--run",
        run,
        "--root",
        ws,
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    # export: the table and the class-folder tree name every readable image exactly once
    out = tmp_path / "by-class"
    r = invoke("export", "--run", run, "--root", ws, "--format", "csv,folders", "--out", out)
    assert r.exit_code == 0, r.output
    rows = read_csv(out / "labels.csv")
    assert sorted(row["path"] for row in rows) == sorted(kinds)
    assert {row["split"] for row in rows} == {"all"} and "true_label" not in rows[0]
    for row in rows:
        assert 0 <= float(row["confidence"]) <= 1 and 0 <= float(row["margin"]) <= 1
    linked = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(linked) == len(kinds)
    by_path = {row["path"]: int(row["class"]) for row in rows}
    for rel in linked:
        folder, path = rel.split("/", 1)
        assert folder == f"class_{by_path[path]:02d}"
        assert (out / rel).resolve() == (photos["folder"] / path).resolve()
    assert not (out / "broken.png").exists() and not list(out.rglob("notes.txt"))
    # the found classes are the generator's kinds (checked here only)
    acc = cluster_acc([by_path[p] for p in kinds], list(kinds.values()))
    assert acc >= 0.9, acc
    classes = json.loads((out / "classes.json").read_text())
    assert [c["size"] for c in classes["classes"]] == np.bincount(
        list(by_path.values()), minlength=KINDS
    ).tolist()
    # the tree reads back as a labelled dataset, its classes the folders
    from hume.embed.datasets import get_dataset

    back = get_dataset(f"imagefolder:{out}", "all", tmp_path / "data")
    assert back.num_classes == len([c for c in classes["classes"] if c["size"]])
    # a second export of the same is a no-op that says so
    again = invoke("export", "--run", run, "--root", ws, "--format", "csv,folders", "--out", out)
    assert again.exit_code == 0 and "nothing to do" in again.output
    # evaluate without any label: label-free parts, said plainly, and the gallery
    r = invoke("evaluate", "--run", run, "--root", ws)
    assert r.exit_code == 0, r.output
    assert "no accuracy can be computed" in " ".join(r.output.split())
    report = json.loads((ws / "runs" / run / "report.json").read_text())
    assert report["metrics"] is None and 0 < report["agreement"]["mean"] <= 1
    html = ws / "runs" / run / "report.html"
    dom = render(html, tmp_path / "gallery.png")
    assert len(re.findall(r'<section class="class"', dom)) == KINDS
    assert "No ground truth" in dom
    srcs = re.findall(r'<img loading="lazy" src="([^"]+)"', dom)
    assert srcs and all((html.parent / s).is_file() for s in srcs)
    assert (tmp_path / "gallery.png").stat().st_size > 10_000
    # predict: the held-back images get the classes of their kinds
    held = photos["held_kinds"]
    kind_of_class = {}
    for c in range(KINDS):
        members = [kinds[p] for p, k in by_path.items() if k == c]
        if members:
            kind_of_class[c] = np.bincount(members).argmax()
    pred_out = tmp_path / "pred"
    r = invoke(
        "predict",
        "--run",
        run,
        "--dataset",
        "imagefolder:" + str(photos["held"]),
        "--root",
        ws,
        "--out",
        pred_out,
        "--format",
        "csv,html",
    )
    assert r.exit_code == 0, r.output
    pred = {row["path"]: int(row["class"]) for row in read_csv(pred_out / "labels.csv")}
    assert sorted(pred) == sorted(held)
    right = np.mean([kind_of_class.get(pred[p]) == k for p, k in held.items()])
    assert right >= 0.9, right
    assert (pred_out / "report.html").is_file()


def test_default_export_writes_csv_and_parquet_alike(photos, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    ws = photos["ws"]
    r = invoke(
        "search",
        "--views",
        "hog,pixels",
        "--dataset",
        "photos",
        "--k",
        KINDS,
        "--seeds",
        "2",
        "--iters",
        "5",
        "--run",
        "pq",
        "--root",
        ws,
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    r = invoke("export", "--run", "pq", "--root", ws)  # default: <run>/export, csv + parquet
    assert r.exit_code == 0, r.output
    out = ws / "runs" / "pq" / "export"
    table = pq.read_table(out / "labels.parquet").to_pydict()
    rows = read_csv(out / "labels.csv")
    assert table["path"] == [row["path"] for row in rows]
    assert table["class"] == [int(row["class"]) for row in rows]
    assert table["confidence"] == pytest.approx([float(row["confidence"]) for row in rows])


def test_bad_export_and_predict_input(photos, tmp_path):
    ws = photos["ws"]
    r = invoke(
        "search",
        "--views",
        "hog,pixels",
        "--dataset",
        "photos",
        "--k",
        KINDS,
        "--seeds",
        "2",
        "--iters",
        "5",
        "--run",
        "small",
        "--root",
        ws,
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    # an output folder of other files is never written into, with or without --overwrite
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("the user's")
    for extra in ([], ["--overwrite"]):
        assert_one_line_error(
            invoke("export", "--run", "small", "--root", ws, "--out", tmp_path / "mine", *extra),
            "not made by `hume export`",
        )
    assert (tmp_path / "mine" / "keep.txt").read_text() == "the user's"
    # another export already there: --overwrite replaces it
    first = invoke("export", "--run", "small", "--root", ws, "--out", tmp_path / "e")
    assert first.exit_code == 0, first.output
    assert_one_line_error(
        invoke(
            "export",
            "--run",
            "small",
            "--root",
            ws,
            "--out",
            tmp_path / "e",
            "--format",
            "csv,html",
        ),
        "--overwrite",
    )
    ok = invoke(
        "export",
        "--run",
        "small",
        "--root",
        ws,
        "--out",
        tmp_path / "e",
        "--format",
        "csv,html",
        "--overwrite",
    )
    assert ok.exit_code == 0 and (tmp_path / "e" / "report.html").is_file()
    assert_one_line_error(
        invoke("export", "--run", "small", "--root", ws, "--format", "xls"), "unknown format 'xls'"
    )
    # an unfinished run
    cfg_path = ws / "runs" / "small" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**cfg, "status": "running"}))
    assert_one_line_error(
        invoke("export", "--run", "small", "--root", ws), "has not finished", "--resume"
    )
    assert_one_line_error(
        invoke("predict", "--run", "small", "--root", ws, "--dataset", "held"), "has not finished"
    )
    cfg_path.write_text(json.dumps(cfg))
    # a store of another model or width under the run's view name
    feats = tmp_path / "f.npy"
    np.save(feats, np.random.default_rng(0).normal(size=(5, 7)).astype(np.float32))
    r = invoke(
        "import",
        "--dataset",
        "other",
        "--split",
        "all",
        "--model",
        "hog",
        "--features",
        feats,
        "--root",
        ws,
    )
    assert r.exit_code == 0, r.output
    assert_one_line_error(
        invoke("predict", "--run", "small", "--root", ws, "--dataset", "other"),
        "not embedded like the run's view 'hog'",
    )
    assert_one_line_error(
        invoke("predict", "--run", "small", "--root", ws, "--dataset", "nothing"),
        "no stores of dataset 'nothing'",
    )
    # an empty folder (and a folder of no images) is refused before anything is written
    (tmp_path / "empty").mkdir()
    assert_one_line_error(
        invoke(
            "embed",
            "--model",
            "hog",
            "--dataset",
            f"imagefolder:{tmp_path / 'empty'}",
            "--root",
            ws,
        ),
        "no images",
    )


def test_a_run_of_an_earlier_version_still_exports(photos, tmp_path):
    """encoders.pt of earlier versions held encoders, method, phi1_mean and perms only."""
    import torch

    ws = photos["ws"]
    r = invoke(
        "search",
        "--views",
        "hog,pixels",
        "--dataset",
        "photos",
        "--k",
        KINDS,
        "--seeds",
        "2",
        "--iters",
        "5",
        "--run",
        "old",
        "--root",
        ws,
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    path = ws / "runs" / "old" / "encoders.pt"
    state = torch.load(path, weights_only=True)
    torch.save({k: state[k] for k in ("encoders", "method", "phi1_mean", "perms")}, path)
    r = invoke("export", "--run", "old", "--root", ws, "--out", tmp_path / "x")
    assert r.exit_code == 0, r.output
    assert len(read_csv(tmp_path / "x" / "labels.csv")) == len(photos["kinds"])
