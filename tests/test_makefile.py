"""Every pipeline step is a make target, and `make -n` shows the exact `hume` commands."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry(*args: str) -> list[str]:
    out = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [ln for ln in out.stdout.splitlines() if "bin/hume " in ln]


def test_step_targets_pass_variables_through():
    assert _dry("embed", "MODEL=clip", "DATASET=cifar10", "ROOT=/r", "DEVICE=cuda")[-1].endswith(
        "hume embed --model clip --dataset cifar10 --root /r --device cuda"
    )
    assert _dry("search", "VIEWS=clip,dino", "DATASET=stl10", "SEEDS=7", "ROOT=/r")[-1].endswith(
        "hume search --views clip,dino --dataset stl10 --seeds 7 --root /r --device auto "
        "--precision fp32"
    )
    assert _dry("search", "PRECISION=tf32")[-1].endswith("--precision tf32")
    assert _dry("evaluate", "RUN=abc", "ROOT=/r")[-1].endswith("hume evaluate --root /r --run abc")
    assert _dry("evaluate", "ROOT=/r")[-1].endswith("hume evaluate --root /r ")
    assert _dry("demo", "ROOT=/r")[-1].endswith("hume demo --root /r")


@pytest.mark.parametrize(
    "dataset, preset",
    [("cifar10", "paper"), ("cifar100-20", "paper"), ("stl10", "paper"), ("imagenet", "large-k")],
)
def test_reproduce_targets_show_the_exact_commands(dataset, preset):
    lines = _dry(f"reproduce-{dataset}", "ROOT=/big", "DEVICE=cuda")
    assert [ln.split("bin/hume ")[1].split()[0] for ln in lines] == [
        "embed",
        "embed",
        "search",
        "evaluate",
    ]
    assert f"--model dinov2 --dataset {dataset} --root /big --device cuda" in lines[0]
    assert f"--model clip --dataset {dataset}" in lines[1]
    assert (
        f"--views dinov2,clip --dataset {dataset} --preset {preset} --setting inductive --seeds 100"
    ) in lines[2]
    assert "--precision fp32" in lines[2]
    assert "--precision tf32" in _dry(f"reproduce-{dataset}", "PRECISION=tf32")[2]
    assert f"--run reproduce-{dataset}" in lines[3]


def test_help_lists_every_target():
    out = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    for target in (
        "install",
        "test",
        "demo",
        "embed",
        "search",
        "evaluate",
        "reproduce-cifar10",
        "reproduce-imagenet",
    ):
        assert target in out


def test_test_target_lints_and_type_checks_before_the_tests():
    out = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    steps = [ln for ln in out.stdout.splitlines() if "/bin/" in ln and "pip" not in ln]
    order = ["ruff check", "ruff format --check", "mypy", "pytest"]
    found = [next(i for i, ln in enumerate(steps) if key in ln) for key in order]
    assert found == sorted(found), steps
