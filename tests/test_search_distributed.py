"""`hume search` over several processes: torchrun ranks (gloo on the CPU) and `--seed-range`
shards give exactly the run one process gives with the same grouping; a rank killed mid-run
loses only its unfinished seeds, and a resume with another number of ranks finishes exactly
those; ranks or shards given different things are refused in one line.

Ranks run as children of a fork server that has torch and hume loaded (each starts in well
under a second; setting RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT as torchrun does), except
where torchrun itself is the subject: the README's line, and killing a rank (torchrun then stops
the others, as it does on a cluster).
"""

import json
import multiprocessing as mp
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, free_port, invoke, planted_stores

REPO = Path(__file__).resolve().parents[1]
FAST = ["--iters", "12", "--inner-steps", "5", "--subsets", "2", "--outer-lr", "0.05"]
FAST += ["--device", "cpu"]
SIX = ["--seeds", "6", "--group-size", "2"]  # three groups of two seeds
TURTLE = ["--method", "turtle", "--iters", "20", "--inner-steps", "3", "--device", "cpu"]

pytestmark = pytest.mark.usefixtures("one_thread")

_SERVER = mp.get_context("forkserver")  # one server per pytest process: the same preload as
# tests/test_faults.py, whichever module sets it last
_SERVER.set_forkserver_preload(
    ["torch", "hume.cli", "hume.embed.pipeline", "hume.search.search_runs.run_lifecycle"]
)


def _rank(args, env, log):
    """One process of a job: `hume ...` with torchrun's environment, its output in ``log``."""
    import torch

    os.environ.update(env)
    torch.set_num_threads(1)  # what torchrun's OMP_NUM_THREADS=1 gives
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(out, 2)
    from hume.cli import app

    app([str(a) for a in args])


def _ranks(tmp_path, per_rank, env=None):
    """Start one process per argument list (rank r gets ``per_rank[r]``)."""
    world, port = len(per_rank), free_port()
    procs = []
    for rank, args in enumerate(per_rank):
        ranked = {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world)}
        ranked |= {"LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1"}
        ranked |= {"MASTER_PORT": str(port), **(env or {})}
        log = tmp_path / f"rank{rank}-{time.monotonic_ns()}.log"
        proc = _SERVER.Process(target=_rank, args=(args, ranked, log))
        proc.start()
        procs.append((proc, log))
    return procs


def _finished(procs, timeout=120):
    """(exit codes, outputs) once every process has ended."""
    for proc, _ in procs:
        proc.join(timeout=timeout)
        assert proc.exitcode is not None, "a rank did not finish"
    return [p.exitcode for p, _ in procs], [log.read_text() for _, log in procs]


def _run_ranks(tmp_path, n, args, env=None):
    codes, logs = _finished(_ranks(tmp_path, [args] * n, env))
    assert codes == [0] * n, "\n".join(logs)[-4000:]
    return logs


def _torchrun():
    here = Path(sys.executable).with_name("torchrun")
    return [str(here)] if here.exists() else [sys.executable, "-m", "torch.distributed.run"]


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _tree_equal(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_tree_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_tree_equal(x, y) for x, y in zip(a, b))
    return a == b


def _same_run(got, want):
    """Every seed's labels, scores and objectives, the ensemble, and every encoder: identical."""
    assert json.loads((got / "config.json").read_text())["status"] == "complete"
    for name in ("seeds.npz", "ensemble.npz"):
        a, b = np.load(got / name), np.load(want / name)
        assert set(a.files) == set(b.files)
        for key in b.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}:{key}")
    a, b = (torch.load(r / "encoders.pt", weights_only=False) for r in (got, want))
    assert _tree_equal(a, b)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The planted stores, and one-process runs of them made on demand (the references)."""
    tmp = tmp_path_factory.mktemp("distributed")
    root, _ = planted_stores(tmp)
    made = {}

    def reference(*args):
        key = " ".join(map(str, args))
        if key not in made:
            name = f"ref{len(made)}"
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                _ok(invoke("search", "--views", "va,vb", "--root", root, "--run", name, *args))
            finally:
                torch.set_num_threads(before)
            made[key] = root / "runs" / name
        return made[key]

    return root, reference


# -- torchrun -------------------------------------------------------------------------------------
def _readme_torchrun_lines():
    text = (REPO / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.split(" #")[0].strip()
            if line.startswith("torchrun ") and " hume search" in line:
                lines.append(line)
    return lines


def _with_values(argv, values):
    """``argv`` with the values of some options replaced (``--a=v`` or ``--a v``)."""
    out = list(argv)
    for i, arg in enumerate(out):
        name = arg.split("=", 1)[0]
        if name in values and "=" in arg:
            out[i] = f"{name}={values[name]}"
        elif name in values:
            out[i + 1] = values[name]
    return out


def test_readme_torchrun_lines_go_through_torchrun_and_two_ranks_equal_one_process(
    tmp_path, workspace
):
    from torch.distributed.run import get_args_parser

    lines = _readme_torchrun_lines()
    assert len(lines) >= 2, "the README shows a torchrun line for one node and for several"
    for line in lines:
        argv = shlex.split(line)
        # torchrun's parser takes every option after `-m hume` as hume's, as written
        parsed = get_args_parser().parse_args(argv[1:])
        assert parsed.module and parsed.training_script == "hume"
        assert parsed.training_script_args == argv[argv.index("hume") + 1 :]
        _ok(invoke(*parsed.training_script_args, "--help"))  # and hume knows each option
    (line,) = [ln for ln in lines if "--nnodes" not in ln]
    root, reference = workspace
    values = {"--nproc_per_node": "2", "--views": "va,vb", "--dataset": "blobs"}
    argv = _with_values(shlex.split(line), {**values, "--seeds": "6", "--run-name": "readme"})
    proc = subprocess.run(
        [*_torchrun(), f"--master_port={free_port()}", *argv[1:], "--root", str(root)]
        + [*FAST, "--group-size", "2"],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # three groups of two seeds, round robin: rank 0 searches two, rank 1 one
    assert "rank 0/2: 2 seed groups (seeds 0–1, 4–5)" in proc.stderr
    assert "rank 1/2: 1 seed groups (seeds 2–3)" in proc.stderr
    _same_run(root / "runs" / "readme", reference("--dataset", "blobs", *FAST, *SIX))
    assert json.loads((root / "runs" / "readme" / "config.json").read_text())["world_size"] == 2


@pytest.mark.parametrize(
    "n, args",
    [
        (3, [*FAST, *SIX, "--setting", "inductive", "--sweep"]),
        (2, [*TURTLE, *SIX]),
        (3, [*TURTLE, *SIX, "--setting", "inductive"]),
    ],
    ids=["hume-3-ranks-inductive-sweep", "turtle-2-ranks", "turtle-3-ranks-inductive"],
)
def test_ranks_equal_one_process(tmp_path, workspace, n, args):
    root, reference = workspace
    name = f"r{n}-{args[1]}"
    logs = _run_ranks(
        tmp_path, n, ["search", "--views", "va,vb", "--root", root, "--run", name, *args]
    )
    assert f"rank {n - 1}/{n}: 1 seed groups" in logs[n - 1]
    run = root / "runs" / name
    want = reference(*args)
    _same_run(run, want)
    if "--sweep" in args:  # the ranks shared the grid's points and chose the same one
        got, ref = (json.loads((r / "config.json").read_text()) for r in (run, want))
        assert got["sweep"] == ref["sweep"] and got["hyperparameters"] == ref["hyperparameters"]


def test_a_killed_rank_loses_only_its_unfinished_seeds_and_more_ranks_finish_them(
    tmp_path, workspace
):
    root, reference = workspace
    eight = [*FAST, "--seeds", "8", "--group-size", "2"]  # rank 0: seeds 0–1, 4–5; rank 1: 2–3, 6–7
    args = ["search", "--views", "va,vb", "--root", root, "--run", "cut", *eight]
    # rank 1 dies (SIGKILL) at its 17th checkpoint: seeds 2–3 done, seeds 6–7 at iteration 5;
    # then rank 0 is stopped wherever it is, as torchrun stops the other ranks
    fault = {"HUME_SEARCH_FAULT": "kill:17", "HUME_SEARCH_FAULT_RANK": "1"}
    (first, _), (second, _) = _ranks(tmp_path, [args, args], fault)
    second.join(timeout=120)
    assert second.exitcode == -signal.SIGKILL
    if first.is_alive():
        os.kill(first.pid, signal.SIGKILL)
    first.join(timeout=30)
    run = root / "runs" / "cut"
    assert json.loads((run / "config.json").read_text())["status"] == "running"
    seeds = run / "seeds"
    assert {"seed-00002.pt", "seed-00003.pt"} <= {p.name for p in seeds.iterdir()}
    assert torch.load(seeds / "group-00006.pt", weights_only=True)["iteration"] == 5
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in seeds.glob("seed-*.pt")}
    logs = _run_ranks(tmp_path, 3, ["search", "--resume", "--run", "cut", "--root", root])
    assert "in flight: " in logs[0] and "seeds 6–7 at iteration 5" in logs[0]
    _same_run(run, reference(*eight))
    # nothing that was finished was searched or written again
    assert all(
        (p := seeds / name).stat().st_ino == ino and p.stat().st_mtime_ns == mtime
        for name, (ino, mtime) in kept.items()
    )
    assert not list(seeds.glob(".*partial*")) and not list(seeds.glob("group-*"))


def test_ranks_given_different_searches_are_refused_on_every_rank(tmp_path, workspace):
    root, _ = workspace
    base = ["search", "--views", "va,vb", "--root", root, "--run", "mixed", *FAST]
    codes, logs = _finished(_ranks(tmp_path, [[*base, "--seeds", "4"], [*base, "--seeds", "6"]]))
    assert codes == [2, 2], logs
    for log in logs:
        lines = [ln for ln in log.splitlines() if ln.strip()]
        assert "Traceback" not in log and len(lines) == 1, log
        assert lines[0].startswith("error: the ranks disagree on the search: rank 1 has n_seeds 6")
    assert not (root / "runs" / "mixed").exists()


# -- --seed-range shards --------------------------------------------------------------------------
def test_seed_range_shards_merged_equal_one_process(workspace):
    """The first shard sweeps (the others join with the settings it chose), inductive."""
    root, reference = workspace
    swept = [*FAST, *SIX, "--setting", "inductive", "--sweep"]
    shard = ["search", "--views", "va,vb", "--root", root, "--run", "sh", *swept]
    first = _ok(invoke(*shard, "--seed-range", "2:4")).output  # creates the run
    assert "seeds 0–1, 4–5 are still missing" in first
    run = root / "runs" / "sh"
    assert not (run / "seeds.npz").exists()  # a shard writes no selection
    final = ("search", "--resume", "--run", "sh", "--root", root)
    assert_one_line_error(invoke(*final), "missing seeds 0–1, 4–5", "--seed-range")
    _ok(invoke(*shard, "--seed-range", "0:2"))  # joins it
    _ok(invoke(*final, "--seed-range", "4:6"))  # joins it by name alone
    assert "every seed is in" in _ok(invoke(*shard, "--seed-range", "2:4")).output  # again
    assert "wrote run" in _ok(invoke(*final)).output
    _same_run(run, reference(*swept))
    assert sorted(p.name for p in (run / "shards").glob("*.json")) == [
        "00000-00002.json",
        "00002-00004.json",
        "00004-00006.json",
    ]
    assert "nothing to do" in _ok(invoke(*final)).output


def test_seed_range_bad_input_is_one_line(workspace):
    root, _ = workspace
    shard = ["search", "--views", "va,vb", "--root", root, "--run", "bad", *FAST, *SIX]
    assert_one_line_error(invoke(*shard, "--seed-range", "4:9"), "outside the run's seeds 0:6")
    assert_one_line_error(invoke(*shard, "--seed-range", "1:3"), "cuts the run's seed groups")
    assert_one_line_error(invoke(*shard, "--seed-range", "3"), "takes A:B")
    assert_one_line_error(invoke(*shard, "--seed-range", "4:2"), "takes A:B")
    no_name = ["search", "--views", "va,vb", "--root", root, *FAST, "--seed-range", "0:2"]
    assert_one_line_error(invoke(*no_name), "--seed-range needs --run NAME")
    assert not (root / "runs" / "bad").exists()
    _ok(invoke(*shard, "--seed-range", "0:4"))
    assert_one_line_error(invoke(*shard, "--seed-range", "2:6"), "overlaps the shard 0:4")
    assert_one_line_error(invoke(*shard, "--seed-range", "4:5"), "cuts the run's seed groups")
    other = ["search", "--views", "va,vb", "--root", root, "--run", "bad", *FAST, "--seeds", "8"]
    assert_one_line_error(
        invoke(*other, "--group-size", "2", "--seed-range", "4:6"), "exists with other settings"
    )
    resume = ("search", "--resume", "--run", "bad", "--root", root)
    assert_one_line_error(invoke(*resume, "--seed-range", "4:8"), "outside the run's seeds 0:6")


def test_shards_join_a_run_while_another_searches_it(tmp_path, workspace):
    root, reference = workspace
    shard = ["search", "--views", "va,vb", "--root", root, "--run", "co", *FAST, *SIX]
    (held, _) = _ranks(
        tmp_path, [[*shard, "--seed-range", "0:2"]], {"HUME_SEARCH_FAULT": "pause:3"}
    )[0]
    group = root / "runs" / "co" / "seeds" / "group-00000.pt"
    deadline = time.time() + 60
    while time.time() < deadline and held.is_alive():
        try:
            if torch.load(group, weights_only=True)["iteration"] == 3:
                break
        except Exception:  # noqa: BLE001 - not written yet, or being replaced
            pass
        time.sleep(0.05)
    assert held.is_alive()
    _ok(invoke(*shard, "--seed-range", "2:4"))  # the run is not locked while 0:2 searches
    assert_one_line_error(invoke(*shard, "--seed-range", "0:2"), "being searched by another")
    final = ("search", "--resume", "--run", "co", "--root", root)
    assert_one_line_error(invoke(*final), "shards 0:2 of run 'co' are still searching")
    os.kill(held.pid, signal.SIGKILL)
    held.join(timeout=30)
    out = _ok(invoke(*final, "--seed-range", "0:2")).output
    assert "seeds 0–1 at iteration 3" in out
    _ok(invoke(*shard, "--seed-range", "4:6"))
    _ok(invoke(*final))
    _same_run(root / "runs" / "co", reference(*FAST, *SIX))
