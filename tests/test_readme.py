"""The README cannot rot: every command it shows exists with those options, and the offline tour
runs for real (it is the demo's pipeline) and reaches the accuracy the README states."""

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hume.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
runner = CliRunner()


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(marker, command lines) of every ```bash block; marker is the HTML comment just above."""
    out = []
    for m in re.finditer(r"(<!--\s*(\S+)\s*-->\s*\n)?```bash\n(.*?)```", text, re.S):
        lines = []
        for raw in m.group(3).splitlines():
            line = raw.split(" #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
        out.append((m.group(2) or "", lines))
    return out


BLOCKS = _blocks(README)
HUME_LINES = [ln for _, lines in BLOCKS for ln in lines if ln.startswith("hume ")]
MAKE_LINES = [ln for _, lines in BLOCKS for ln in lines if ln.startswith("make ")]
TOUR = [lines for marker, lines in BLOCKS if marker == "offline-tour"]


def test_python_snippet_runs():
    """The README's Python API example, on two views of a planted 3-class labeling."""
    import numpy as np

    code = re.search(r"<!-- python-api -->\s*```python\n(.*?)```", README, re.S).group(1)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 60)
    centres1, centres2 = rng.normal(size=(3, 8)) * 4, rng.normal(size=(3, 6)) * 4
    phi1 = centres1[y] + rng.normal(size=(180, 8))
    phi2 = centres2[y] + rng.normal(size=(180, 6))
    code = code.replace("n_classes=10, n_seeds=10", "n_classes=3, n_seeds=2, iters=30")
    scope = {"phi1": phi1, "phi2": phi2, "phi1_new": phi1[:7]}
    exec(compile(code, "README.md", "exec"), scope)
    model = scope["model"]
    assert model.labels_.shape == (180,) and model.scores_.shape == (2,)
    assert model.predict(phi1[:7]).shape == (7,)


def test_readme_shows_commands():
    """The user guide shows every command a user types, the make targets of the install, test
    and reproduction steps, and the offline tour of the demo (embed two training-free views of
    digits, search, evaluate, look)."""
    shown = {line.split()[1] for line in HUME_LINES}
    assert shown >= {"embed", "import", "search", "evaluate", "export", "predict", "label", "info"}
    targets = {line.split()[1] for line in MAKE_LINES}
    assert targets >= {"install", "test", "lint", "demo", "embed", "search", "evaluate"}
    assert any(t.startswith("reproduce-") for t in targets)
    assert TOUR == [
        [
            "hume embed --model hog --dataset digits",
            "hume embed --model pixels --dataset digits",
            "hume search --views hog,pixels",
            "hume evaluate",
            "hume info",
        ]
    ]


@pytest.mark.parametrize("line", HUME_LINES)
def test_every_hume_command_parses(line):
    """Each command and option spelling exists: click refuses unknown options even with --help."""
    args = shlex.split(line)[1:]
    if args and args[0] == "info" and len(args) > 1:  # a path argument, not an option
        args = args[:1]
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"{line}\n{result.output}"


@pytest.mark.parametrize("line", MAKE_LINES)
def test_every_make_target_exists(line):
    args = shlex.split(line)[1:]
    out = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_offline_tour_runs_and_reaches_the_stated_accuracy(tmp_path, monkeypatch):
    """The README's offline tour, verbatim, in a fresh workspace."""
    monkeypatch.setenv("HUME_ROOT", str(tmp_path))
    for line in TOUR[0]:
        result = runner.invoke(app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    report = json.loads(next((tmp_path / "runs").glob("*/report.json")).read_text())
    acc = report["metrics"]["acc"]
    stated = re.search(r"offline\s+tour\s+reaches\s+ACC\s+([0-9.]+)", README)
    assert stated, "the README states the tour's accuracy"
    assert acc >= 0.90 and round(acc * 100, 1) >= float(stated.group(1)) - 3.0
    kmeans = report["baselines"]["kmeans"]
    singles = {view: m["acc"] for view, m in kmeans.items() if not view.startswith("concat")}
    assert set(singles) == {"hog", "pixels"} and all(acc > a for a in singles.values())
