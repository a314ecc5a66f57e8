"""`hume evaluate` end to end on runs fabricated in the test (no dependency on the search stage).

A fabricated run follows the hume/runs.py contract: config.json, seeds.npz, ensemble.npz over
stores written with hume.store.importing.import_features.
"""

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hume.cli import app
from hume.core.errors import HumeError
from hume.core.files import write_json
from hume.evaluate.report import evaluate_run, markdown, spearman
from hume.store import open_store, store_path
from hume.store.importing import import_features

runner = CliRunner()
K = 3
CLASSES = ["cat", "dog", "ship"]


def _npy(tmp_path, name, array):
    path = tmp_path / name
    np.save(path, array)
    return str(path)


def _views(n: int, seed: int):
    """Two views of K well-separated blobs: phi1 (6 dims) and phi2 (8 dims), and the truth."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    rng.shuffle(y)
    c1, c2 = np.eye(K, 6) * 8, np.eye(K, 8) * 8
    x1 = c1[y] + rng.normal(0, 0.5, (n, 6))
    x2 = c2[y] + rng.normal(0, 0.5, (n, 8))
    return x1.astype(np.float32), x2.astype(np.float32), y


def _corrupt(y: np.ndarray, fraction: float, perm: list[int], seed: int) -> np.ndarray:
    """``y`` relabelled by ``perm`` with the first ``fraction`` of rows shifted to another class."""
    out = np.asarray(perm)[y]
    n_bad = int(round(fraction * len(y)))
    out[:n_bad] = (out[:n_bad] + 1) % K
    return out.astype(np.int64)


def fabricate_run(
    root,
    name="run1",
    setting="inductive",
    n_seeds=5,
    labels=True,
    created="2026-01-01T00:00:00",
    n_train=90,
    n_test=45,
    dataset="toy",
):
    """Write stores and a finished run whose seed i has ACC 1 − 0.1·i and score 0.9 − 0.1·i."""
    tmp = root / "_npy"
    tmp.mkdir(parents=True, exist_ok=True)
    splits = {"train": _views(n_train, 1), "test": _views(n_test, 2)}
    search = ["train"] if setting == "inductive" else ["train", "test"]
    predict = ["test"] if setting == "inductive" else []
    stores = {}
    for split, (x1, x2, y) in splits.items():
        for view, x in (("phi", x1), ("clip", x2)):
            path = store_path(root, dataset, split, view)
            if not path.exists():  # several runs may share the stores
                lab = _npy(tmp, f"y_{split}.npy", y if labels else np.full(len(y), -1))
                import_features(
                    dataset,
                    split,
                    view,
                    _npy(tmp, f"{view}_{split}.npy", x),
                    lab,
                    root=str(root),
                    dtype="float32",
                    chunk_rows=32,
                )
                if labels:
                    with open_store(path, mode="r+") as st:
                        st.update_attrs(classes=CLASSES)
            if split not in search and view != "phi":
                continue  # as `search` does: φ2 is not read on the predicted splits
            with open_store(path) as st:
                stores[f"{view}/{split}"] = {
                    "path": str(path),
                    "n_rows": st.n_rows,
                    "store_id": st.attrs["store_id"],
                }
    y_search = np.concatenate([splits[s][2] for s in search])
    seeds = {
        "labels": np.stack([_corrupt(y_search, 0.1 * i, [2, 0, 1], i) for i in range(n_seeds)]),
        "scores": 0.9 - 0.1 * np.arange(n_seeds),
        "objectives": np.arange(n_seeds, dtype=float),
    }
    ens = {"labels": seeds["labels"][0], "reference_seed": np.int64(0)}
    for s in predict:
        seeds[f"{s}_labels"] = np.stack(
            [_corrupt(splits[s][2], 0.1 * i, [1, 2, 0], i) for i in range(n_seeds)]
        )
        ens[f"{s}_labels"] = seeds[f"{s}_labels"][0]
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    np.savez(run_dir / "seeds.npz", **seeds)
    np.savez(run_dir / "ensemble.npz", **ens)
    write_json(
        run_dir / "config.json",
        {
            "method": "hume",
            "dataset": dataset,
            "views": ["phi", "clip"],
            "setting": setting,
            "k": K,
            "n_seeds": n_seeds,
            "hyperparameters": {"device": "cpu"},
            "search_splits": search,
            "predict_splits": predict,
            "stores": stores,
            "status": "complete",
            "created": created,
            "hume_version": "test",
        },
    )
    return run_dir


def _digests(run_dir):
    return {
        n: hashlib.sha256((run_dir / n).read_bytes()).hexdigest()
        for n in ("config.json", "seeds.npz", "ensemble.npz")
    }


@pytest.mark.parametrize("setting", ["inductive", "transductive"])
def test_report_contents(tmp_path, setting):
    run_dir = fabricate_run(tmp_path, setting=setting)
    before = _digests(run_dir)
    report, written = evaluate_run(run_dir, tmp_path, n_init=2)
    assert _digests(run_dir) == before  # search outputs untouched
    on_disk = json.loads((run_dir / "report.json").read_text())
    assert on_disk["metrics"]["acc"] == pytest.approx(1.0)
    n_eval = 45 if setting == "inductive" else 135
    assert on_disk["evaluated_on"] == {
        "splits": ["test"] if setting == "inductive" else ["train", "test"],
        "n_rows": n_eval,
        "n_labelled": n_eval,
    }
    for key in ("acc", "ari", "nmi"):
        assert 0.0 <= on_disk["metrics"][key] <= 1.0
    # seed i has ~10·i % of its rows wrong, whatever permutation it uses
    accs = [s["acc"] for s in on_disk["seeds"]]
    assert accs == pytest.approx([1 - 0.1 * i for i in range(5)], abs=0.02)
    assert on_disk["selected_seed"]["seed"] == 0 and on_disk["best_seed"]["seed"] == 0
    assert on_disk["median_seed"]["seed"] == 2
    assert on_disk["median_seed"]["per_class_acc"] == pytest.approx([0.8] * 3, abs=0.15)
    assert np.trace(np.array(on_disk["median_seed"]["confusion"])) == round(0.8 * n_eval)
    assert on_disk["selected_seed"]["n_clusters"] == 3
    assert on_disk["spearman"]["rho"] == pytest.approx(1.0)
    assert on_disk["metrics"]["per_class_acc"] == pytest.approx([1.0, 1.0, 1.0])
    assert np.trace(np.array(on_disk["metrics"]["confusion"])) == n_eval
    assert on_disk["class_sizes"]["true"] == [n_eval // 3] * 3
    base = on_disk["baselines"]
    assert set(base["kmeans"]) == {"phi", "clip", "concat(phi,clip)"}
    assert all(m["acc"] > 0.95 for m in base["kmeans"].values())  # separable blobs
    assert set(base["linear_probe"]) == {"phi", "clip"}
    assert base["linear_probe"]["phi"]["role"] == "phi1"
    assert all(m["acc"] > 0.95 for m in base["linear_probe"].values())
    protocol = base["linear_probe"]["clip"]["protocol"]
    assert (protocol == "train -> test") == (setting == "inductive")
    assert on_disk["paper"] is None  # "toy" is none of the papers' datasets
    for path in written:
        assert path.is_file() and path.stat().st_size > 0
    figs = {p.name for p in (run_dir / "figures").iterdir()}
    assert figs == {"confusion.png", "score_vs_accuracy.png", "class_sizes.png", "agreement.png"}
    for f in (run_dir / "figures").iterdir():
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 1000
    md = (run_dir / "report.md").read_text()
    assert "| HUME ensemble | 100.0 | 100.0 | 100.0 | 3 |" in md
    assert "Spearman ρ = 1.000" in md and "cat" in md


def test_paper_numbers_are_shown_apart_and_labelled(tmp_path):
    from hume.evaluate.paper import paper_numbers

    run_dir = fabricate_run(tmp_path, dataset="cifar10")
    report, _ = evaluate_run(run_dir, tmp_path, baselines=False)
    assert report["paper"] == paper_numbers("CIFAR-10")
    rows = {(r["method"], r["setting"]): r for r in report["paper"]["rows"]}
    assert rows[("HUME", "inductive")]["acc"] == pytest.approx(0.884)
    assert rows[("HUME", "transductive")]["ari"] == pytest.approx(0.792)
    assert rows[("TURTLE", "transductive")]["backbones"] == "CLIP ViT-L/14 + DINOv2 ViT-g/14"
    md = markdown(report)
    measured, published = md.split("## Published numbers")
    assert "88.4" in published and "88.4" not in measured
    assert "NOT measured here" in published and "MoCo v2" in published
    assert paper_numbers("imagenet")["rows"][-1]["acc"] == pytest.approx(0.511)
    assert paper_numbers("digits") is None


def test_cli_evaluate_newest_run(tmp_path):
    fabricate_run(tmp_path, name="old", created="2026-01-01T00:00:00")
    fabricate_run(
        tmp_path,
        name="new",
        setting="transductive",
        created="2026-02-01T00:00:00",
        dataset="cifar10",
    )
    result = runner.invoke(
        app, ["evaluate", "--root", str(tmp_path), "--restarts", "1"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "evaluating run new" in result.output
    measured, published = result.output.split("published numbers for cifar10")
    assert "NOT measured here" in published and "89.2" in published and "89.2" not in measured
    assert "HUME ensemble" in result.output and "k-means on phi" in result.output
    assert "report.json" in result.output and "confusion.png" in result.output
    assert (tmp_path / "runs" / "new" / "report.json").is_file()
    assert not (tmp_path / "runs" / "old" / "report.json").exists()
    named = runner.invoke(
        app, ["evaluate", "--run", "old", "--root", str(tmp_path), "--no-baselines"]
    )
    assert named.exit_code == 0, named.output
    assert json.loads((tmp_path / "runs" / "old" / "report.json").read_text())["baselines"] is None


def test_no_ground_truth(tmp_path):
    run_dir = fabricate_run(tmp_path, labels=False)
    result = runner.invoke(app, ["evaluate", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no ground truth" in result.output
    report = json.loads((run_dir / "report.json").read_text())
    assert report["ground_truth"] is False and report["metrics"] is None
    assert [s["score"] for s in report["seeds"]] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert sum(report["class_sizes"]["found"]) == 45
    assert report["figures"] == ["figures/agreement.png", "figures/class_sizes.png"]
    assert (run_dir / "figures" / "class_sizes.png").stat().st_size > 1000
    assert "no accuracy can be computed" in " ".join(result.output.split())
    agreement = report["agreement"]  # label-free: how the seeds agree with the ensemble
    assert 0 < agreement["mean"] <= 1 and len(agreement["per_seed"]) == 5
    assert "No ground truth exists" in (run_dir / "report.md").read_text()


def test_changed_store_is_refused(tmp_path):
    run_dir = fabricate_run(tmp_path)
    x1, _, y = _views(60, 9)  # the test split of phi re-imported with other rows
    import_features(
        "toy",
        "test",
        "phi",
        _npy(tmp_path, "new.npy", x1),
        _npy(tmp_path, "ny.npy", y),
        root=str(tmp_path),
        overwrite=True,
    )
    result = runner.invoke(app, ["evaluate", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "changed since the search" in result.output and "Traceback" not in result.output
    assert not (run_dir / "report.json").exists()


def test_rewritten_store_with_same_size_is_refused(tmp_path):
    fabricate_run(tmp_path)
    x1, _, y = _views(90, 5)
    import_features(
        "toy",
        "train",
        "clip",
        _npy(tmp_path, "n.npy", x1),
        _npy(tmp_path, "y.npy", y),
        root=str(tmp_path),
        overwrite=True,
    )
    with pytest.raises(HumeError, match="changed since the search"):
        evaluate_run(tmp_path / "runs" / "run1", tmp_path)


@pytest.mark.parametrize("junk", [b"PK\x03\x04junk", b"", b"not a zip at all"])
def test_corrupt_seed_file_is_one_line_exit_2(tmp_path, junk):
    run_dir = fabricate_run(tmp_path)
    (run_dir / "seeds.npz").write_bytes(junk)
    result = runner.invoke(app, ["evaluate", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "corrupt" in result.output, result.output
    assert "Traceback" not in result.output


def test_missing_run_and_unfinished_run_exit_2(tmp_path):
    result = runner.invoke(app, ["evaluate", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "no runs" in result.output
    fabricate_run(tmp_path)
    result = runner.invoke(app, ["evaluate", "--run", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
    cfg_path = tmp_path / "runs" / "run1" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    write_json(cfg_path, {**cfg, "status": "running"})
    result = runner.invoke(app, ["evaluate", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "--resume" in result.output


def test_spearman_edge_cases():
    assert spearman(np.array([1.0, 2.0]), np.array([0.1, 0.2]))["rho"] is None
    assert spearman(np.array([1.0, 1.0, 1.0]), np.array([0.1, 0.2, 0.3]))["rho"] is None
    assert spearman(np.array([3.0, 2.0, 1.0]), np.array([0.1, 0.2, 0.3]))["rho"] == pytest.approx(
        -1
    )


def test_baselines_skip_a_view_without_a_test_store(tmp_path):
    import shutil

    run_dir = fabricate_run(tmp_path)
    shutil.rmtree(store_path(tmp_path, "toy", "test", "clip"))  # never recorded by the run
    report, _ = evaluate_run(run_dir, tmp_path, n_init=1)
    assert set(report["baselines"]["kmeans"]) == {"phi"}
    assert "clip" in report["baselines"]["skipped"]
    assert any("clip" in n and "skipped" in n for n in report["notes"])
    assert report["metrics"]["acc"] == pytest.approx(1.0)


def test_large_confusion_goes_to_its_own_file(tmp_path, monkeypatch):
    import hume.evaluate.report as rep

    monkeypatch.setattr(rep, "MAX_JSON_CONFUSION", 4)
    run_dir = fabricate_run(tmp_path)
    report, written = evaluate_run(run_dir, tmp_path, baselines=False)
    assert report["metrics"]["confusion"] == "confusion.npz:metrics"
    assert report["median_seed"]["confusion"] == "confusion.npz:median_seed"
    with np.load(run_dir / "confusion.npz") as data:
        assert data["metrics_matrix"].shape == (3, 3) and np.trace(data["metrics_matrix"]) == 45
        assert np.trace(data["median_seed_matrix"]) == 36  # seed 2: 20 % of rows wrong
        assert data["best_seed_clusters"].shape == (3,)
    assert run_dir / "confusion.npz" in written
    assert "| cat | 15 | 15 | 100.0 | 100.0 |" in (run_dir / "report.md").read_text()


def test_partly_labelled_rows_are_left_out_and_said_so(tmp_path):
    run_dir = fabricate_run(tmp_path)
    path = store_path(tmp_path, "toy", "test", "phi")
    with open_store(path, mode="r+") as st:
        y = st.read_labels()
        y[:15] = -1
        st.write_labels(y)
    report, _ = evaluate_run(run_dir, tmp_path, n_init=1)
    assert report["evaluated_on"]["n_labelled"] == 30 and report["evaluated_on"]["n_rows"] == 45
    assert report["metrics"]["n_samples"] == 30 and report["metrics"]["acc"] == pytest.approx(1.0)
    assert sum(report["class_sizes"]["true"]) == 30
    assert any("15 of 45" in n for n in report["notes"])
    assert report["baselines"]["kmeans"]["phi"]["n_samples"] == 30


def test_stores_that_disagree_on_labels_are_refused(tmp_path):
    run_dir = fabricate_run(tmp_path)
    with open_store(store_path(tmp_path, "toy", "train", "clip"), mode="r+") as st:
        st.write_labels((st.read_labels() + 1) % K)
    with pytest.raises(HumeError, match="disagree on the labels"):
        evaluate_run(run_dir, tmp_path)


def test_a_baseline_that_cannot_run_is_skipped_not_fatal(tmp_path):
    run_dir = fabricate_run(tmp_path, setting="transductive")
    for split in ("train", "test"):  # one class only: the supervised probe cannot be fitted
        for view in ("phi", "clip"):
            with open_store(store_path(tmp_path, "toy", split, view), mode="r+") as st:
                st.write_labels(np.zeros(st.n_rows, dtype=np.int64))
    report, _ = evaluate_run(run_dir, tmp_path, n_init=1)
    assert report["baselines"]["linear_probe"] == {}
    assert set(report["baselines"]["skipped"]) == {"linear_probe on phi", "linear_probe on clip"}
    assert len(report["baselines"]["kmeans"]) == 3
    assert any("two classes" in n for n in report["notes"])


def test_device_resolution():
    from hume.evaluate.report import evaluation_device

    assert evaluation_device("cpu", "cuda") == "cpu"
    assert evaluation_device(None, "cpu") == "cpu"
    assert evaluation_device(None, None) in ("cpu", "cuda")
    with pytest.raises(HumeError, match="unknown device"):
        evaluation_device("tpu", None)


def test_features_of_selected_rows_across_chunks_and_splits(tmp_path):
    import torch

    from hume.evaluate.run_inputs import load_inputs

    inp = load_inputs(fabricate_run(tmp_path, setting="transductive"), tmp_path)
    full = inp.features("clip", ["train", "test"])
    assert full.shape == (135, 8)
    rows = np.array([0, 31, 32, 89, 90, 100, 134])  # chunk edges of 32 rows, both splits
    assert torch.equal(inp.features("clip", ["train", "test"], rows=rows), full[rows])


def test_inductive_baselines_read_a_subsample_of_the_train_rows(tmp_path):
    from hume.evaluate.report import run_baselines
    from hume.evaluate.run_inputs import load_inputs

    inp = load_inputs(fabricate_run(tmp_path), tmp_path)
    out = run_baselines(inp, "cpu", n_init=1, max_fit_rows=40)
    assert out["settings"]["fit_rows_read"] == 40
    assert out["kmeans"]["clip"]["n_samples"] == 45  # still labels every test row
    assert out["kmeans"]["clip"]["acc"] > 0.95 and out["linear_probe"]["phi"]["acc"] > 0.95


@pytest.mark.parametrize("setting", ["inductive", "transductive"])
def test_evaluate_fits_baselines_on_a_bounded_sample_and_scores_every_row(
    tmp_path, monkeypatch, setting
):
    import hume.evaluate.baselines as bl

    monkeypatch.setattr(bl, "KMEANS_MAX_FIT_ROWS", 60)
    monkeypatch.setattr(bl, "PROBE_MAX_FIT_ROWS", 30)
    monkeypatch.setattr(bl, "PREDICT_CHUNK_ROWS", 16)
    run_dir = fabricate_run(tmp_path, setting=setting)
    result = runner.invoke(
        app, ["evaluate", "--root", str(tmp_path), "--restarts", "1"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report.json").read_text())
    base = report["baselines"]
    n_eval, n_fit = (45, 90) if setting == "inductive" else (135, 135)
    assert base["settings"]["kmeans_max_fit_rows"] == 60
    assert base["settings"]["probe_max_rows"] == 30
    for m in base["kmeans"].values():
        assert m["fitted_on"] == {"rows": 60, "of": n_fit}
        assert m["n_samples"] == n_eval and m["acc"] > 0.95  # every evaluated row scored
    for m in base["linear_probe"].values():
        assert m["fitted_on"] == {"rows": 30, "of": n_fit}
        assert m["n_samples"] == n_eval and m["acc"] > 0.95
    note = next(n for n in report["notes"] if n.startswith("baselines fitted on a seeded sample"))
    assert f"k-means on 60 of {n_fit} rows" in note and f"probe on 30 of {n_fit} rows" in note
    md = (run_dir / "report.md").read_text()
    assert f"| k-means on phi (fitted on 60 of {n_fit} rows) |" in md
    assert f"fitted on 30 of {n_fit} rows) |" in md and note in md
    assert "fitted on 60 of" in result.output  # the printed table says it too
    # unbounded (the default bounds exceed these rows): nothing is said to be sampled
    monkeypatch.undo()
    again = runner.invoke(app, ["evaluate", "--root", str(tmp_path), "--restarts", "1"])
    assert again.exit_code == 0 and "nothing to do" not in again.output  # other bounds: redone
    report = json.loads((run_dir / "report.json").read_text())
    assert report["baselines"]["sampled"] is None
    assert not any("seeded sample" in n for n in report["notes"])
    assert all(
        m["fitted_on"]["rows"] == m["fitted_on"]["of"]
        for key in ("kmeans", "linear_probe")
        for m in report["baselines"][key].values()
    )
