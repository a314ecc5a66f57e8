"""The benchmarks run: the GPU check script end to end in its CPU smoke mode, and the search
benchmark's options. (Timings are never asserted here: they are measured in bench/.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_script_runs_its_steps_in_smoke_mode(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--smoke", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (row,) = json.loads((tmp_path / "search.json").read_text())["results"]
    for key in (
        "reference_s_per_iter_seed",
        "hume_1seed_s_per_iter_seed",
        "hume_batched_s_per_iter_seed",
        "hume_1seed_tf32_s_per_iter_seed",
    ):
        assert row[key] > 0
    assert row["seeds_batched"] == 2
    section = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- search_speed:cpu:start -->" in section and "| quick (N=200" in section
    assert "pixels" in (tmp_path / "embed.log").read_text()
    # the multi-GPU line's path on two CPU ranks: `hume search` as 1 process and 2 ranks
    ranks = json.loads((tmp_path / "search_ranks.json").read_text())["results"]
    assert [r["ranks"] for r in ranks] == [1, 2] and all(r["s_per_seed"] > 0 for r in ranks)
    assert "<!-- search_ranks:cpu:start -->" in section
    # the smoke run writes its own copy, never the repository's results
    assert "| quick (N=200" not in (ROOT / "bench" / "RESULTS.md").read_text()


def test_search_bench_learn2learn_reference_says_what_is_missing():
    try:
        import learn2learn  # noqa: F401

        pytest.skip("learn2learn is installed")
    except ImportError:
        pass
    proc = subprocess.run(
        [sys.executable, "bench/search_speed.py", "--quick", "--learn2learn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "--learn2learn needs the learn2learn package" in proc.stderr


@pytest.mark.slow
def test_the_development_suite_runs_a_dataset_and_its_rules_agree_with_the_runs(tmp_path):
    """bench/suite.py on the planted 10:1 mixture (3 seeds, no K range): both methods and
    ``--class-sizes uneven`` are run, every ensemble kind is scored, and the per-run rule the
    section measures (``auto``) is the kind each run chose for itself."""
    sys.path.insert(0, str(ROOT / "bench"))
    from suite_rules import rule_pick

    proc = subprocess.run(
        [sys.executable, "bench/suite.py", "--only", "planted-10:1", "--no-k", "--seeds", "3",
         "--cache", str(tmp_path / "cache"), "--json", str(tmp_path / "suite.json"),
         "--results", str(tmp_path / "RESULTS.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (row,) = json.loads((tmp_path / "suite.json").read_text())["datasets"]
    assert row["dataset"] == "planted-10:1" and row["k"] == 5
    for method in ("hume", "turtle"):
        m = row[method]
        assert set(m["kinds"]) == {"cut", "linkage", "vote", "cut-top", "seed", "kmeans"}
        assert m["ensemble_chosen"] == rule_pick(m["kinds"], "auto")
        assert m["ensemble"]["acc"] == m["kinds"][m["ensemble_chosen"]]["acc"]
    assert row["hume-uneven"]["ensemble_chosen"] in ("linkage", "vote")
    section = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- suite:start -->" in section and "| planted-10:1 | 1000 | 5 | HUME |" in section
    assert "HUME `--class-sizes uneven`" in section and "LODO by score" in section


@pytest.mark.slow
def test_scale_bench_times_every_stage_at_every_size(tmp_path):
    """bench/scale.py on two tiny sizes through its command line: every stage (import, search
    and, when the run writes stages.json, its parts, evaluate, export) measured at both, with
    positive times and memory, the growth between them and the ImageNet projection."""
    out = tmp_path / "scale.json"
    proc = subprocess.run(
        [sys.executable, "bench/scale.py", "--n", "300,600", "--k", "3", "--dims", "16,12",
         "--device", "cpu", "--no-baselines", "--json", str(out), "--tmp", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert [(c["N"], c["K"], c["status"]) for c in data["configs"]] == [
        (300, 3, "measured"),
        (600, 3, "measured"),
    ]
    for c in data["configs"]:
        stages = {s["name"]: s for s in c["stages"]}
        assert {"import", "search", "evaluate", "export"} <= set(stages)
        assert c["stages_json"]  # the search writes its stages
        assert {"search.loop", "search.score", "search.ensemble"} <= set(stages)
        for s in stages.values():  # stages.json rounds to the ms: its writing may read 0
            assert not s.get("extrapolated") and s["seconds"] >= 0
            if s["from"] == "command" or s["name"] in ("search.loop", "search.score"):
                assert s["seconds"] > 0 and s["peak_rss_mb"] > 0
        assert c["acc"] is not None
    (g,) = data["growth"]
    assert (g["from_N"], g["to_N"]) == (300, 600) and g["total"] > 0 and not g["extrapolated"]
    p = data["projection"]
    assert p["projected"] and p["K"] == 1000 and p["seeds"] == 100 and p["total_s"] > 0
    assert "| 300 | 3 |" in proc.stdout and "Projected, not measured" in proc.stdout
    assert not list(tmp_path.glob("scale-n*"))  # the workspaces are removed


@pytest.mark.slow
def test_the_score_bound_bench_compares_samples_with_every_row(tmp_path):
    """bench/score_bound.py on one planted dataset of the suite: the reference on every row, the
    score's own noise, fewer iterations and every sample size below N, each with its Spearman
    and its choices, and the summary table."""
    out = tmp_path / "score_bound.json"
    proc = subprocess.run(
        [sys.executable, "bench/score_bound.py", "--only", "planted-weak-view", "--seeds", "3",
         "--methods", "hume", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    row = data["results"]["hume"]["planted-weak-view"]
    assert (row["n"], row["k"]) == (1000, 5) and row["reference"]["ensemble"] in ("cut", "vote")
    names = set(row["variants"])
    assert {"every row, other folds", "every row, 25 it", "100/class, 25 it"} <= names
    assert "200/class, 25 it" not in names  # 1 000 rows: no sample of 200 per class
    for v in row["variants"].values():
        assert v["spearman"] is None or -1 <= v["spearman"] <= 1
        assert v["seed_loss"] >= 0 and isinstance(v["same_ensemble"], bool)
    assert set(data["summary"]) == names and "| every row, 25 it | 1 |" in proc.stdout


def test_the_review_loop_bench_compares_the_refit_with_its_baselines(tmp_path):
    """bench/review_loop.py on the planted 10:1 mixture (2 seeds): the reviewer reviews each
    class's least confident rows, the refit is made through the library as a run of its own,
    and the four ways are measured at every budget, with a split of the most confused pair."""
    sys.path.insert(0, str(ROOT / "bench"))
    from review_loop import reviewer

    proc = subprocess.run(
        [sys.executable, "bench/review_loop.py", "--only", "planted-10:1", "--seeds", "2",
         "--split-pairs", "1", "--cache", str(tmp_path / "cache"), "--json",
         str(tmp_path / "review.json"), "--results", str(tmp_path / "RESULTS.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (row,) = json.loads((tmp_path / "review.json").read_text())["rows"]
    assert set(row["budgets"]) == {"0.01", "0.02", "0.05"}
    for budget, r in row["budgets"].items():
        assert r["reviewed"] >= float(budget) * row["n"]
        assert {"moves", "refit", "probe", "kmeans"} <= set(r)
        run = tmp_path / "cache" / "ws" / "runs" / f"planted-10:1-hume-s2-review-{budget}"
        assert json.loads((run / "config.json").read_text())["refit"]["from"].endswith("-s2")
    assert row["split"][0]["rows"] > 0
    section = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- review-loop:start -->" in section and "| planted-10:1 | 1000 | 5 |" in section
    # the reviewer: least confident first, a wrong row moved to the class standing for its own
    labels = np.array([0, 0, 0, 1, 1, 1])
    truth = np.array([0, 0, 1, 1, 1, 1])
    confidence = np.array([1.0, 0.9, 0.2, 1.0, 0.8, 0.9])
    review = reviewer(labels, confidence, np.zeros(6), truth, 1 / 6)
    assert review["moves"] == {2: 1} and review["confirm"] == [4]


def test_the_structured_reviewer_merges_classes_sharing_a_kind_and_splits_the_group():
    """bench/review_loop.py --structure: two run classes that each mix human classes 1 and 2 are
    merged and the group split into 2; a class holding one human class stays; the reviewed rows
    of a regrouped kind go to the group; (d) at the review's K cuts the split class first."""
    sys.path.insert(0, str(ROOT / "bench"))
    from review_loop import kmeans_at_review_k, moves_alone, regroup, reviewer

    table = np.array([[50, 0, 0], [0, 30, 20], [0, 20, 30], [0, 5, 0]])  # human × run
    assert regroup(table) == [([0], [0]), ([1, 2], [1, 2])]  # human 3 is 9 % of class 1
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 40)
    labels = np.where(truth == 0, 0, rng.integers(1, 3, 120))  # 1s and 2s mixed over 1 and 2
    review = reviewer(labels, rng.random(120), np.zeros(120), truth, 0.1, structure=True)
    assert review["merge"] == [[1, 2]] and review["split"] == {1: 2}
    assert all(c in (0, 1) for c in review["moves"].values())  # never into a merged-away class
    # a row moved into a class that is merged away goes with it
    fixed = moves_alone(np.array([0, 1, 2]), {"moves": {0: 2}, "merge": [[1, 2]]})
    assert fixed.tolist() == [1, 1, 1]
    centres = np.array([[0.0, 10.0], [10.0, 0.0], [-10.0, 0.0]])
    x = centres[truth] + rng.normal(0, 0.5, (120, 2))
    merged = np.where(labels == 2, 1, labels)
    anchors = np.array([0, 40, 80])
    out = kmeans_at_review_k([x], merged, anchors, merged[anchors], 3, {1: 2})
    assert len(np.unique(out)) == 3  # the split class cut in two: three classes
    assert (out[truth == 1] == out[40]).all() and (out[truth == 2] == out[80]).all()
    assert out[40] != out[80] and out[0] == 0


def test_screen_seeds_replays_kept_screens_with_fewer_seeds(tmp_path):
    """bench/screen_seeds.py through its command: kept screens whose seeds agree only at K = 3
    (elsewhere each seed cuts at random) rank K = 3 first at every seed count, and the climb
    stops once the K after it have fallen behind."""
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 40)
    run = tmp_path / "work" / "toy" / "runs" / "choice-fast"
    (run / "screens").mkdir(parents=True)
    candidates = []
    for k in range(2, 8):
        if k == 3:
            seeds = np.stack([truth] * 6)
        else:
            seeds = rng.integers(0, k, (6, len(truth)))
        meta = {"run": f"toy-k{k}", "k": k, "order": ["a", "b"], "seeds": 6, "iters": 10,
                "stability": 0.0, "consensus_stability": 0.0, "ensemble": "cut"}  # fmt: skip
        np.savez(run / "screens" / f"toy-k{k}.npz", seed_labels=seeds, labels=seeds[0],
                 meta=np.asarray(json.dumps(meta)))  # fmt: skip
        candidates.append({"k": k, "phi1": "a", "searched": "full" if k == 3 else "screen",
                           "criterion": 1.0})  # fmt: skip
    choice = {"k": 3, "phi1": "a", "candidates": candidates}
    (run / "choice.json").write_text(json.dumps(choice))
    out = tmp_path / "seeds.json"
    proc = subprocess.run(
        [sys.executable, "bench/screen_seeds.py", "--work", str(tmp_path / "work"), "--json",
         str(out), "--results", str(tmp_path / "RESULTS.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(out.read_text())["rows"]["toy"]
    assert row["chosen"] == [3, "a"] and row["full"] == [[3, "a", 1.0]]
    for n, seen in row["by_seeds"].items():
        assert seen["top"][0][:2] == [3, "a"], n
        # three K after the best, and the last of them not their highest (climbing.climb_over)
        assert seen["climb_stops_at"] in (6, 7) and seen["screened_to"] == 7, n
    assert "| toy | 3 a | " in (tmp_path / "RESULTS.md").read_text()


def test_k_curve_screens_every_k_and_marks_the_highest(tmp_path):
    """bench/k_curve.py through its command on the planted 5-class mixture at K 4 and 5: the
    seeds agree at the mixture's K, which screens highest and is marked."""
    proc = subprocess.run(
        [sys.executable, "bench/k_curve.py", "--only", "planted", "--k", "4:5", "--cache",
         str(tmp_path / "cache"), "--json", str(tmp_path / "k.json"), "--results",
         str(tmp_path / "RESULTS.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads((tmp_path / "k.json").read_text())["rows"]["planted"]
    assert row["human_k"] == 5 and set(row["curve"]) == {"4", "5"}
    assert row["curve"]["5"]["criterion"] > row["curve"]["4"]["criterion"]
    assert "| K | 4 | 5 † |" in (tmp_path / "RESULTS.md").read_text()
