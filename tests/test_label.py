"""From a folder to its classes: `hume label` end to end, the README's four commands with a K
range (the run you chose is the run you get), `hume info` at 80 columns, help texts without
markup, and the bad input of `hume label`."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke
from test_own_images import KINDS, cluster_acc, make_folder, render

from hume.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: fast settings for a test (the commands' own defaults take minutes)
FAST = ["--seeds", "4", "--device", "cpu"]


def _classes(csv_path: Path) -> dict[str, int]:
    with open(csv_path, newline="") as fh:
        return {row["path"]: int(row["class"]) for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("label")
    photos, new = base / "photos", base / "new-photos"
    kinds = make_folder(photos, 30, seed=3)
    make_folder(new, 5, seed=4)
    (photos / "notes.txt").write_text("not an image")
    return base, photos, new, kinds


@pytest.mark.slow
def test_label_takes_a_folder_to_its_classes_and_again_does_nothing(folders, tmp_path):
    base, photos, _, kinds = folders
    ws = tmp_path / "ws"
    args = ["label", photos, "--models", "hog,pixels", "--k", "3:5", "--root", ws, *FAST]
    r = invoke(*args, "--workers", "0")
    assert r.exit_code == 0, r.output
    out = base / "photos-by-class"  # beside the folder, never inside it
    found = _classes(out / "labels.csv")
    assert sorted(found) == sorted(kinds)  # every image once, the text file not
    assert cluster_acc([found[p] for p in kinds], list(kinds.values())) >= 0.9
    run = ws / "runs" / "photos-hog-pixels"
    choice = json.loads((run / "choice.json").read_text())
    assert choice["k"] == KINDS and len(set(found.values())) == KINDS
    assert {c["phi1"] for c in choice["candidates"]} == {"hog", "pixels"}  # φ1 auto
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("done:") and f"K={KINDS}" in last and "chosen from 3:5" in last
    assert str(out / "report.html") in last and "1 file skipped (1 not an image;" in last
    linked = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(linked) == len(kinds) and all(p.startswith("class_0") for p in linked)
    dom = render(out / "report.html", tmp_path / "gallery.png")
    assert len(re.findall(r'<section class="class"', dom)) == KINDS
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert again.output.count("nothing to do") >= 4  # both stores, the search, the export
    assert again.output.strip().splitlines()[-1] == last
    # asked again with other settings, the run is not silently reused
    other = invoke("label", photos, "--models", "hog,pixels", "--k", "3:6", "--root", ws, *FAST)
    assert other.exit_code == 2 and "Traceback" not in other.output
    errors = [ln for ln in other.output.splitlines() if ln.startswith("error:")]
    assert errors == [other.output.strip().splitlines()[-1]]
    assert "chosen with other settings (k: '3:5', asked '3:6')" in errors[0]


def test_label_refuses_bad_input_in_one_line(folders, tmp_path):
    base, photos, _, _ = folders
    (tmp_path / "empty").mkdir()
    ws = ["--root", tmp_path / "ws", "--models", "hog,pixels"]
    assert_one_line_error(invoke("label", tmp_path / "missing", *ws), "no folder or dataset")
    assert_one_line_error(invoke("label", photos / "img0000.png", *ws), "is a file")
    assert_one_line_error(invoke("label", tmp_path / "empty", *ws), "no images")
    assert_one_line_error(invoke("label", photos, "--k", "5:2", *ws), "reversed")
    assert_one_line_error(
        invoke("label", photos, "--out", photos / "classes", *ws), "inside the image folder"
    )
    assert_one_line_error(invoke("label", photos, "--weights", "w.pt", *ws), "MODEL=PATH")
    assert not (tmp_path / "ws").exists()  # refused before anything was written


def test_label_without_weights_names_the_offline_way(folders, tmp_path, monkeypatch):
    """The default models need pretrained weights: offline and without --weights the error is
    one line naming `--models hog,pixels` and `--weights`."""
    from hume.embed.backbones import hub

    _, photos, _, _ = folders
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "offline", lambda: True)
    r = invoke("label", photos, "--root", tmp_path / "ws", "--workers", "0")
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.output
    assert "--models hog,pixels" in errors[0] and "--weights dinov2=PATH" in errors[0]


def _readme_block(marker: str) -> list[str]:
    block = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)```", README, re.S)
    assert block, f"README has a block marked {marker}"
    return [ln.split(" #")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]


@pytest.mark.slow
def test_the_readme_four_commands_with_a_k_range_export_and_predict_the_chosen_k(
    folders, tmp_path, monkeypatch
):
    """The README's step-by-step commands, verbatim but for the offline views (hog, pixels for
    dinov2, clip), the folders, a K range around the generator's 4 kinds and fast settings;
    export and predict, given no --run, take the run the search chose, not its newest candidate."""
    import shutil

    _, photos, new, kinds = folders
    base = tmp_path / "here"  # a folder of its own: other tests export beside the shared one
    shutil.copytree(photos, base / "photos")
    shutil.copytree(new, base / "new-photos")
    monkeypatch.chdir(base)
    monkeypatch.setenv("HUME_ROOT", str(tmp_path / "ws"))
    lines = _readme_block("own-images")
    assert [ln.split()[1] for ln in lines] == ["embed", "search", "export", "predict"]
    assert re.search(r"--k \d+:\d+", lines[1]), "the README's search shows a K range"
    for line in lines:
        line = line.replace("dinov2", "hog").replace("clip", "pixels")
        line = re.sub(r"--k \d+:\d+", "--k 3:5", line)
        args = shlex.split(line)[1:]
        if args[0] == "search":
            args += FAST
        runs = [args]
        if args[0] == "embed":  # "then the same with --model clip"
            runs.append([a.replace("hog", "pixels") for a in args])
        for each in runs:
            r = invoke(*each, *(["--workers", "0"] if each[0] == "embed" else []))
            assert r.exit_code == 0, f"{line}\n{r.output}"
    runs_dir = tmp_path / "ws" / "runs"
    (chosen,) = [p for p in runs_dir.iterdir() if (p / "choice.json").is_file()]
    k = json.loads((chosen / "choice.json").read_text())["k"]
    assert k == KINDS
    searched = sorted(p.name for p in runs_dir.iterdir() if p.name.startswith(chosen.name + "-"))
    assert (
        len(searched) >= 1
    )  # the chosen candidate searched in full (the runner-up where it could win)
    exported = _classes(base / "photos-by-class" / "labels.csv")
    assert len(set(exported.values())) == k and sorted(exported) == sorted(kinds)
    predicted = _classes(base / "new-by-class" / "labels.csv")
    assert predicted and set(predicted.values()) <= set(range(k))
    # evaluate and info name the same run
    r = invoke("evaluate", "--no-baselines")
    assert r.exit_code == 0 and chosen.name in r.output, r.output
    assert json.loads((chosen / "report.json").read_text())["k"] == k


@pytest.mark.slow
def test_info_shows_whole_run_names_at_80_columns_with_candidates_under_their_run(
    folders, tmp_path
):
    _, photos, _, _ = folders
    ws = tmp_path / "ws"
    for model in ("hog", "pixels"):
        r = invoke("embed", "--model", model, "--dataset", f"imagefolder:{photos}", "--root", ws)
        assert r.exit_code == 0, r.output
    name = "a-rather-long-run-name-20261202-115113-photos-hume-chosen-from-a-range"
    r = invoke("search", "--views", "hog,pixels", "--k", "3:5", "--run", name, "--root", ws, *FAST)
    assert r.exit_code == 0, r.output
    r = invoke("info", "--root", ws, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    candidates = sorted(p.name for p in (ws / "runs").iterdir() if p.name.startswith(name + "-"))
    assert (
        lines.count(name + "   ← evaluate, export and predict take this run unless given --run")
        == 1
    )
    at = lines.index(name + "   ← evaluate, export and predict take this run unless given --run")
    shown = [ln.strip() for ln in lines[at + 1 :] if ln.strip().startswith("candidate ")]
    assert shown == [f"candidate {c}" for c in candidates]
    assert f"K={KINDS} chosen from K 3:5" in lines[at + 1]
    assert not any("…" in ln for ln in lines)  # nothing cut


@pytest.mark.parametrize(
    "command", ["label", "embed", "import", "search", "evaluate", "export", "predict", "info"]
)
def test_no_help_text_renders_markup(command):
    """Every option's help reads as written (rich markup would eat `[…]` and turn `A:B:` into
    an emoji), at 80 columns."""
    import typer

    r = invoke(command, "--help", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    shown = "".join(r.output.split())  # whatever the wrapping, every word as written
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    helps = [p.help for p in cmd.params if isinstance(p, typer.core.TyperOption) and p.help]
    assert helps
    for text in helps:
        assert "".join(text.split()) in shown, text
    assert not re.search(r"[\U0001F100-\U0001FAFF]", r.output)  # no emoji


@pytest.mark.slow
def test_import_parquet_and_paths_name_every_file_and_refuse_another_order(folders, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    _, photos, _, kinds = folders
    ws = tmp_path / "ws"
    files = sorted(kinds)
    rng = np.random.default_rng(0)
    kind = np.array([kinds[f] for f in files])
    x = (rng.normal(size=(KINDS, 8)) * 4)[kind] + rng.normal(size=(len(files), 8))
    np.save(tmp_path / "a.npy", x.astype(np.float32))
    (tmp_path / "paths.txt").write_text("\n".join(files) + "\n")
    base = ["import", "--dataset", "mine", "--split", "all", "--root", ws]
    r = invoke(
        *base, "--model", "a", "--features", tmp_path / "a.npy", "--paths",
        tmp_path / "paths.txt", "--image-root", photos,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    y = (rng.normal(size=(KINDS, 6)) * 4)[kind] + rng.normal(size=(len(files), 6))
    table = pa.table(
        {"image_path": [str(photos / f) for f in files], "embedding": [list(v) for v in y]}
    )
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=17)
    r = invoke(*base, "--model", "b", "--features", tmp_path / "b.parquet")
    assert r.exit_code == 0, r.output
    again = invoke(*base, "--model", "b", "--features", tmp_path / "b.parquet")
    assert again.exit_code == 0 and "nothing to do" in again.output
    from hume.store import open_store, store_path

    with open_store(store_path(ws, "mine", "all", "b")) as st:
        np.testing.assert_allclose(st.read_features(), y.astype(np.float16), rtol=1e-3)
        assert st.read_paths() == files
    swapped = files.copy()
    swapped[2], swapped[5] = swapped[5], swapped[2]
    pq.write_table(
        pa.table({"path": [str(photos / f) for f in swapped], "embedding": [list(v) for v in y]}),
        tmp_path / "c.parquet",
    )
    assert_one_line_error(
        invoke(*base, "--model", "c", "--features", tmp_path / "c.parquet"),
        "row 2",
        "same files in the same order",
    )
    (tmp_path / "short.txt").write_text("\n".join(files[:-1]))
    assert_one_line_error(
        invoke(
            *base, "--model", "d", "--features", tmp_path / "a.npy", "--paths",
            tmp_path / "short.txt", "--image-root", photos,
        ),
        "paths for",
    )  # fmt: skip
    r = invoke("search", "--views", "a,b", "--dataset", "mine", "--k", KINDS, "--root", ws, *FAST)
    assert r.exit_code == 0, r.output
    r = invoke("export", "--root", ws, "--format", "csv,folders", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    found = _classes(tmp_path / "out" / "labels.csv")
    assert sorted(found) == files
    assert cluster_acc([found[f] for f in files], list(kind)) >= 0.9
    for link in (tmp_path / "out").rglob("*.png"):
        assert (
            link.resolve()
            == (photos / link.relative_to(tmp_path / "out").as_posix().split("/", 1)[1]).resolve()
        )
