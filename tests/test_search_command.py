"""`hume search` through the CLI: run layout, never reading labels, resume, bad input → exit 2."""

import json

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, invoke
from helpers import import_array as _import
from helpers import planted_stores as _planted_stores

from hume.store import FeatureStore, create_store, store_path

FAST = [
    "--iters",
    "12",
    "--inner-steps",
    "5",
    "--subsets",
    "2",
    "--outer-lr",
    "0.05",
    "--seeds",
    "2",
    "--device",
    "cpu",
]


pytestmark = pytest.mark.usefixtures("one_thread")


def test_transductive_run_is_written_without_reading_labels(tmp_path, monkeypatch):
    root, truth = _planted_stores(tmp_path)

    def no_labels(self):
        raise AssertionError("search read ground-truth labels")

    monkeypatch.setattr(FeatureStore, "read_labels", no_labels)
    r = invoke("search", "--views", "va,vb", "--root", root, "--run", "t1", *FAST)
    assert r.exit_code == 0, r.output
    run = root / "runs" / "t1"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["status"] == "complete" and cfg["dataset"] == "blobs" and cfg["k"] == 3
    assert cfg["views"] == ["va", "vb"] and cfg["search_splits"] == ["train", "test"]
    assert cfg["predict_splits"] == [] and cfg["method"] == "hume"
    assert set(cfg["stores"]) == {"va/train", "va/test", "vb/train", "vb/test"}
    seeds = np.load(run / "seeds.npz")
    assert seeds["labels"].shape == (2, 120) and seeds["scores"].shape == (2,)
    assert seeds["objectives"].shape == (2,)
    ens = np.load(run / "ensemble.npz")
    assert ens["labels"].shape == (120,) and int(ens["reference_seed"]) in (0, 1)
    enc = torch.load(run / "encoders.pt", weights_only=False)
    assert enc["encoders"].shape == (2, 3, 6)


def test_inductive_labels_the_test_split_through_phi1(tmp_path):
    root, truth = _planted_stores(tmp_path)
    r = invoke(
        "search",
        "--views",
        "va,vb",
        "--root",
        root,
        "--run",
        "ind",
        "--setting",
        "inductive",
        *FAST,
    )
    assert r.exit_code == 0, r.output
    run = root / "runs" / "ind"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["search_splits"] == ["train"] and cfg["predict_splits"] == ["test"]
    assert np.load(run / "seeds.npz")["test_labels"].shape == (2, 30)
    assert np.load(run / "ensemble.npz")["test_labels"].shape == (30,)


def test_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch):
    import hume.search.estimators.hume_method.hume_outer as algorithm

    root, _ = _planted_stores(tmp_path)
    r = invoke("search", "--views", "va,vb", "--root", root, "--run", "full", *FAST)
    assert r.exit_code == 0, r.output
    real = algorithm.outer_loss

    def interrupt_at_5(data, a, k, cfg, it, *args, **kw):
        if it == 5:
            raise KeyboardInterrupt
        return real(data, a, k, cfg, it, *args, **kw)

    monkeypatch.setattr(algorithm, "outer_loss", interrupt_at_5)
    r = invoke("search", "--views", "va,vb", "--root", root, "--run", "cut", *FAST)
    assert r.exit_code == 130 and "--resume --run cut" in r.output
    run = root / "runs" / "cut"
    assert json.loads((run / "config.json").read_text())["status"] == "running"
    # the group in flight (both seeds: one group) was saved where it stopped
    assert torch.load(run / "seeds" / "group-00000.pt", weights_only=True)["iteration"] == 5
    monkeypatch.setattr(algorithm, "outer_loss", real)
    r = invoke("search", "--resume", "--run", "cut", "--root", root)
    assert r.exit_code == 0, r.output
    assert json.loads((run / "config.json").read_text())["status"] == "complete"
    np.testing.assert_array_equal(
        np.load(run / "seeds.npz")["labels"],
        np.load(root / "runs" / "full" / "seeds.npz")["labels"],
    )
    again = invoke("search", "--resume", "--run", "cut", "--root", root)  # nothing to do
    assert again.exit_code == 0 and "nothing to do" in again.output, again.output


def test_corrupt_resume_state_is_one_line_exit_2(tmp_path):
    root, _ = _planted_stores(tmp_path)
    assert invoke("search", "--views", "va,vb", "--root", root, "--run", "r", *FAST).exit_code == 0
    run = root / "runs" / "r"
    cfg = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**cfg, "status": "running"}))
    (run / "seeds" / "group-00000.pt").write_bytes(b"junk")
    (run / "seeds" / "seed-00001.pt").unlink()
    assert_one_line_error(
        invoke("search", "--resume", "--run", "r", "--root", root),
        "group-00000.pt is unreadable",
        "delete it",
    )
    (run / "state.pt").write_bytes(b"junk")  # the one file of an earlier version
    assert_one_line_error(
        invoke("search", "--resume", "--run", "r", "--root", root), "state.pt is unreadable"
    )


def test_a_run_of_an_earlier_version_resumes_from_its_state_pt(tmp_path, monkeypatch):
    """Earlier versions kept every finished seed and the group in flight in one state.pt and
    no group_size in config.json: it is read once into seed files, with its grouping."""
    import hume.search.estimators.hume_method.hume_outer as algorithm

    root, _ = _planted_stores(tmp_path)
    fast = [*FAST[:-4], "--seeds", "3", "--device", "cpu", "--group-size", "2"]
    assert (
        invoke("search", "--views", "va,vb", "--root", root, "--run", "full", *fast).exit_code == 0
    )
    real = algorithm.outer_loss

    def interrupt_at_5(data, a, k, cfg, it, *args, **kw):
        if it == 5 and a.shape[0] == 1:  # the second group (seed 2)
            raise KeyboardInterrupt
        return real(data, a, k, cfg, it, *args, **kw)

    monkeypatch.setattr(algorithm, "outer_loss", interrupt_at_5)
    r = invoke("search", "--views", "va,vb", "--root", root, "--run", "old", *fast)
    assert r.exit_code == 130, r.output
    monkeypatch.setattr(algorithm, "outer_loss", real)
    run = root / "runs" / "old"
    seeds = run / "seeds"
    done = {s: torch.load(seeds / f"seed-{s:05d}.pt", weights_only=True) for s in (0, 1)}
    legacy = {
        "done": {
            s: {key: d[key] for key in ("encoder", "labels", "objective")} for s, d in done.items()
        },
        "current": torch.load(seeds / "group-00002.pt", weights_only=True),
        "group_size": 2,
    }
    torch.save(legacy, run / "state.pt")
    for f in seeds.iterdir():
        f.unlink()
    seeds.rmdir()
    cfg = json.loads((run / "config.json").read_text())
    del cfg["group_size"], cfg["world_size"]
    (run / "config.json").write_text(json.dumps(cfg))
    r = invoke("search", "--resume", "--run", "old", "--root", root)
    assert r.exit_code == 0, r.output
    assert "1 of 2 seed groups left" in r.output
    assert not (run / "state.pt").exists()
    assert json.loads((run / "config.json").read_text())["group_size"] == 2
    for name in ("seeds.npz", "ensemble.npz"):
        got, want = np.load(run / name), np.load(root / "runs" / "full" / name)
        for key in want.files:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}:{key}")


def test_inductive_predicts_test_through_phi1_even_without_phi2_test_store(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "ws"
    y = rng.integers(0, 3, size=60)
    _import(tmp_path, root, "d", "train", "va", rng.normal(size=(60, 4)) + y[:, None] * 3)
    _import(tmp_path, root, "d", "test", "va", rng.normal(size=(30, 4)))
    _import(tmp_path, root, "d", "train", "vb", rng.normal(size=(60, 5)) + y[:, None] * 3)
    r = invoke(
        "search",
        "--views",
        "va,vb",
        "--root",
        root,
        "--run",
        "i",
        "--k",
        "3",
        "--setting",
        "inductive",
        *FAST,
    )
    assert r.exit_code == 0, r.output
    assert json.loads((root / "runs" / "i" / "config.json").read_text())["predict_splits"] == [
        "test"
    ]
    assert np.load(root / "runs" / "i" / "ensemble.npz")["test_labels"].shape == (30,)
    # TURTLE reads every view for new rows: without vb/test it predicts nothing
    r = invoke(
        "search",
        "--views",
        "va,vb",
        "--root",
        root,
        "--run",
        "t",
        "--k",
        "3",
        "--setting",
        "inductive",
        "--method",
        "turtle",
        "--iters",
        "5",
        "--seeds",
        "2",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    assert json.loads((root / "runs" / "t" / "config.json").read_text())["predict_splits"] == []


def test_a_view_whose_splits_differ_in_width_is_refused_before_searching(tmp_path):
    rng = np.random.default_rng(4)
    root = tmp_path / "ws"
    for split, n, d in (("train", 40, 5), ("test", 20, 6)):
        _import(tmp_path, root, "d", split, "va", rng.normal(size=(n, d)))
        _import(tmp_path, root, "d", split, "vb", rng.normal(size=(n, 3)))
    for setting in ("transductive", "inductive"):
        assert_one_line_error(
            invoke(
                "search",
                "--views",
                "va,vb",
                "--root",
                root,
                "--k",
                "2",
                "--setting",
                setting,
                *FAST,
            ),
            "differ in width",
        )
    assert not (root / "runs").exists() or not any((root / "runs").iterdir())


def test_bad_input_is_one_line_exit_2(tmp_path):
    root, _ = _planted_stores(tmp_path)
    base = ["search", "--root", root, *FAST]
    assert_one_line_error(invoke(*base, "--views", "va"), "single view")
    assert_one_line_error(invoke(*base, "--views", "va,nope"), "nope")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--k", "1"), "at least 2")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--k", "500"), "exceeds")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--k", "7"), "dimension of φ1")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--subset-size", "1000"), "subset")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--setting", "sideways"), "setting")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--method", "magic"), "method")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--device", "cuda"), "cuda")
    assert_one_line_error(invoke(*base, "--views", "va,vb", "--precision", "fp16"), "precision")
    # a view of another dataset: no dataset has both
    rng = np.random.default_rng(1)
    _import(tmp_path, root, "other", "train", "vc", rng.normal(size=(20, 4)))
    _import(tmp_path, root, "other", "test", "vc", rng.normal(size=(20, 4)))
    assert_one_line_error(invoke(*base, "--views", "va,vc"), "no dataset")
    assert_one_line_error(invoke(*base, "--views", "va,vc", "--dataset", "blobs"), "vc")
    # mismatched rows within a split
    _import(tmp_path, root, "blobs", "train", "short", rng.normal(size=(80, 4)))
    _import(tmp_path, root, "blobs", "test", "short", rng.normal(size=(30, 4)))
    assert_one_line_error(invoke(*base, "--views", "va,short"), "different row counts")
    # an incomplete store
    st = create_store(
        store_path(root, "blobs", "train", "half", "zarr"),
        90,
        4,
        chunk_rows=30,
        attrs={"dataset": "blobs", "split": "train", "model": "half"},
    )
    st.write_chunk(0, rng.normal(size=(30, 4)).astype(np.float32))
    st.close()
    _import(tmp_path, root, "blobs", "test", "half", rng.normal(size=(30, 4)))
    r = invoke(*base, "--views", "va,half")
    assert r.exit_code == 2 and "error:" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (root / "runs").exists() or not any((root / "runs").iterdir())


def test_transductive_needs_a_test_split(tmp_path):
    root, _ = _planted_stores(tmp_path, splits=(("train", 60),))
    base = ["search", "--root", root, "--views", "va,vb", *FAST]
    assert_one_line_error(invoke(*base), "test split")
    r = invoke(*base, "--setting", "inductive", "--run", "ok")
    assert r.exit_code == 0, r.output
    # a dataset with only `all` searches it
    (tmp_path / "b").mkdir()
    root2, _ = _planted_stores(tmp_path / "b", splits=(("all", 60),))
    r = invoke("search", "--root", root2, "--views", "va,vb", "--run", "all", *FAST)
    assert r.exit_code == 0, r.output
    assert json.loads((root2 / "runs" / "all" / "config.json").read_text())["search_splits"] == [
        "all"
    ]


def test_method_turtle_writes_the_same_run_layout(tmp_path):
    root, _ = _planted_stores(tmp_path)
    r = invoke(
        "search",
        "--views",
        "va,vb",
        "--root",
        root,
        "--run",
        "tt",
        "--method",
        "turtle",
        "--setting",
        "inductive",
        "--iters",
        "5",
        "--seeds",
        "2",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.output
    run = root / "runs" / "tt"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["method"] == "turtle" and cfg["status"] == "complete"
    assert cfg["hyperparameters"]["iters"] == 5
    assert np.load(run / "seeds.npz")["labels"].shape == (2, 90)
    assert np.load(run / "ensemble.npz")["test_labels"].shape == (30,)
    assert_one_line_error(
        invoke(
            "search",
            "--views",
            "va,vb",
            "--root",
            root,
            "--method",
            "turtle",
            "--tau",
            "0.5",
            "--device",
            "cpu",
        ),
        "tau",
    )


def test_turtle_cold_start_and_single_view(tmp_path):
    root, _ = _planted_stores(tmp_path)
    common = [
        "--root",
        root,
        "--method",
        "turtle",
        "--iters",
        "5",
        "--seeds",
        "2",
        "--device",
        "cpu",
    ]
    r = invoke("search", "--views", "va,vb", "--run", "cold", "--cold-start", *common)
    assert r.exit_code == 0, r.output
    hp = json.loads((root / "runs" / "cold" / "config.json").read_text())["hyperparameters"]
    assert hp["warm_start"] is False
    r = invoke("search", "--views", "va", "--run", "one", *common)  # TURTLE works on one view
    assert r.exit_code == 0, r.output
    cfg = json.loads((root / "runs" / "one" / "config.json").read_text())
    assert cfg["views"] == ["va"] and cfg["hyperparameters"]["warm_start"] is True
    assert_one_line_error(
        invoke("search", "--views", "va,vb", "--root", root, "--warm-start", "--device", "cpu"),
        "--warm-start",
        "--method hume",
    )
    assert_one_line_error(
        invoke("search", "--views", "va", "--root", root, "--device", "cpu"), "single view"
    )


def test_sweep_picks_the_grid_point_with_the_best_label_free_score(tmp_path):
    root, _ = _planted_stores(tmp_path)
    r = invoke("search", "--views", "va,vb", "--root", root, "--run", "sw", "--sweep", *FAST)
    assert r.exit_code == 0, r.output
    cfg = json.loads((root / "runs" / "sw" / "config.json").read_text())
    trials = cfg["sweep"]
    assert len(trials) >= 2 and all(0 <= t["mean_score"] <= 1 for t in trials)
    best = max(trials, key=lambda t: t["mean_score"])
    hp = cfg["hyperparameters"]
    for key in ("outer_lr", "tau", "inner_lr_scale"):
        assert hp[key] == best[key]
    assert cfg["status"] == "complete"


def test_precision_is_recorded_and_applied_around_the_search(tmp_path, monkeypatch):
    """--precision reaches the estimator, which runs its seed groups inside matmul_precision;
    on the CPU tf32 changes nothing (a note says so) and the run records what was asked."""
    import contextlib

    import hume.search.estimators.estimator_base as estimator

    seen = []

    @contextlib.contextmanager
    def spy(device, precision):
        seen.append((str(device), precision))
        yield

    monkeypatch.setattr(estimator, "matmul_precision", spy)
    root, _ = _planted_stores(tmp_path)
    r = invoke(
        "search", "--views", "va,vb", "--root", root, "--run", "p1", "--precision", "tf32", *FAST
    )
    assert r.exit_code == 0, r.output
    assert "applies to CUDA GPUs" in r.output
    assert seen == [("cpu", "tf32")]
    assert json.loads((root / "runs" / "p1" / "config.json").read_text())["precision"] == "tf32"


def test_resume_keeps_the_runs_precision_unless_given(tmp_path, monkeypatch):
    import contextlib

    import hume.search.estimators.estimator_base as estimator
    import hume.search.estimators.hume_method.hume_outer as algorithm

    seen = []

    @contextlib.contextmanager
    def spy(device, precision):
        seen.append(precision)
        yield

    monkeypatch.setattr(estimator, "matmul_precision", spy)
    real = algorithm.outer_loss

    def interrupt_at_5(data, a, k, cfg, it, *args, **kw):
        if it == 5:
            raise KeyboardInterrupt
        return real(data, a, k, cfg, it, *args, **kw)

    root, _ = _planted_stores(tmp_path)
    config = root / "runs" / "p2" / "config.json"
    monkeypatch.setattr(algorithm, "outer_loss", interrupt_at_5)
    r = invoke(
        "search", "--views", "va,vb", "--root", root, "--run", "p2", "--precision", "tf32", *FAST
    )
    assert r.exit_code == 130
    r = invoke("search", "--resume", "--run", "p2", "--root", root)  # interrupted again
    assert r.exit_code == 130 and json.loads(config.read_text())["precision"] == "tf32"
    assert_one_line_error(
        invoke("search", "--resume", "--run", "p2", "--root", root, "--precision", "fp16"),
        "precision",
    )
    monkeypatch.setattr(algorithm, "outer_loss", real)
    r = invoke("search", "--resume", "--run", "p2", "--root", root, "--precision", "fp32")
    assert r.exit_code == 0, r.output
    assert seen == ["tf32", "tf32", "fp32"]
    assert json.loads(config.read_text())["precision"] == "fp32"


def test_matmul_precision_sets_tf32_on_cuda_only_and_restores():
    from hume.core.devices import matmul_precision

    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        state, tf32, full = (lambda: matmul.fp32_precision), "tf32", "ieee"
    else:
        state, tf32, full = torch.get_float32_matmul_precision, "high", "highest"
    before = state()
    with matmul_precision(torch.device("cuda"), "tf32"):
        assert state() == tf32
        with matmul_precision("cuda:0", "fp32"):
            assert state() == full
        assert state() == tf32
    assert state() == before
    with matmul_precision("cpu", "tf32"):
        assert state() == before


def test_options_a_method_lacks_are_refused_through_the_command(tmp_path):
    """Every option reaches the method through one typed path; TURTLE has no annealing,
    subsets or temperature and HUME no warm start, so those are refused, naming the flag
    (`--method turtle --no-anneal` used to be accepted silently)."""
    root, _ = _planted_stores(tmp_path)
    base = ["search", "--views", "va,vb", "--root", root, "--device", "cpu", "--iters", "2"]
    for flag in (["--no-anneal"], ["--subsets", "2"], ["--train-fraction", "0.5"]):
        assert_one_line_error(
            invoke(*base, "--method", "turtle", *flag), flag[0], "--method turtle"
        )
    assert_one_line_error(invoke(*base, "--cold-start"), "--cold-start", "--method hume")
    assert_one_line_error(invoke(*base, "--method", "turtle", "--sweep"), "--sweep")
    assert_one_line_error(invoke(*base, "--method", "turtle", "--preset", "large-k"), "preset")
    assert not (root / "runs").exists() or not any((root / "runs").iterdir())


def test_the_seeds_are_scored_on_a_bounded_sample_and_the_paper_preset_on_every_row(
    tmp_path, monkeypatch
):
    from dataclasses import replace

    from hume.search.estimators.hume_method import hume_config

    bounded = replace(hume_config.DEFAULT, score_rows=100, score_rows_per_class=1)
    monkeypatch.setitem(hume_config.HumeConfig.PRESETS, "default", bounded)
    root, truth = _planted_stores(tmp_path, splits=(("train", 200), ("test", 100)))
    for run, preset in (("bounded", "default"), ("paper", "paper")):
        r = invoke(
            "search", "--views", "va,vb", "--root", root, "--run", run, "--preset", preset,
            "--iters", "12", "--inner-steps", "5", "--seeds", "3", "--device", "cpu",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    hp = {
        run: json.loads((root / "runs" / run / "config.json").read_text())["hyperparameters"]
        for run in ("bounded", "paper")
    }
    assert hp["bounded"]["score_rows_used"] == 100 and hp["bounded"]["score_rows"] == 100
    assert hp["paper"]["score_rows_used"] == 300 and hp["paper"]["score_rows"] is None
    with np.load(root / "runs" / "bounded" / "seeds.npz") as seeds:
        assert seeds["scores"].shape == (3,) and (seeds["scores"] > 0.5).all()
    timed = json.loads((root / "runs" / "bounded" / "stages.json").read_text())
    stages = timed["stages"]
    assert [s["name"] for s in stages] == ["load", "search", "score", "ensemble", "write"]
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in stages)
    assert timed["peak_rss_mb"] >= max(s["peak_rss_mb"] for s in stages)
