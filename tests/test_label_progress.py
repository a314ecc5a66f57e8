"""`hume label` without a terminal (a log, nohup, a job scheduler): a plain progress line per
stage and per K screened or searched, not more than a few a second; and `--dry-run`, which says
what would run and costs nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from test_own_images import KINDS, make_folder

from hume.core.reporting import LineReporter


def test_line_progress_is_rate_limited_and_says_each_stage_and_its_time_left():
    now = [0.0]
    lines: list[str] = []
    rep = LineReporter(lines.append, every=5.0, clock=lambda: now[0])
    with rep.task("choosing K among 2:20", total=1000, unit="seed-it") as task:
        for i in range(1, 100):  # an update every 0.1 s, for 10 s: two periodic lines at most
            now[0] = i * 0.1
            task.update(completed=i)
        task.update(completed=120, at="screened K=2", criterion=0.812)  # a stage: always said
        now[0] = 16.0  # 6 s after the last line
        task.update(completed=200)
    assert len(lines) <= 6 and lines[0].startswith("choosing K among 2:20: 0/1,000 seed-it")
    assert any("at screened K=2, criterion 0.812" in ln for ln in lines)
    assert "about 0:01:04 left" in lines[-2] and lines[-1].endswith("(done)")


def test_label_without_a_terminal_prints_a_line_per_stage_and_per_k(tmp_path):
    photos = tmp_path / "photos"
    make_folder(photos, 6, seed=5)
    log = tmp_path / "label.log"
    args = [sys.executable, "-m", "hume", "label", str(photos), "--models", "hog,pixels"]
    args += ["--k", "3:5", "--seeds", "4", "--device", "cpu", "--workers", "0"]
    args += ["--root", str(tmp_path / "ws")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    dry = subprocess.run([*args, "--dry-run"], capture_output=True, text=True, env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"{6 * KINDS} images" in dry.stdout and "screens" in dry.stdout, dry.stdout
    assert "embed with hog: to do" in dry.stdout
    assert not (tmp_path / "ws").exists()  # nothing written
    started = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    seconds = time.monotonic() - started
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\x1b[" not in text  # no bar, no escape codes in a log
    elapsed = re.compile(r"\d+:\d\d:\d\d elapsed")
    stages = re.split(r"^\[\d/3\] ", text, flags=re.M)[1:]
    assert [s.split()[0] for s in stages] == ["embedding", "embedding", "searching", "writing"]
    for stage in stages[:3]:  # each stage that runs long says how far it is
        assert any(elapsed.search(line) for line in stage.splitlines()), stage
    assert re.search(r"plan: about \d+ screens .* about \d+ (s|min) here", stages[2])
    progress = [line for line in text.splitlines() if elapsed.search(line)]
    screened = re.findall(r"at screened K=(\d) φ1 (\w+), criterion", text)
    searched = re.findall(r"at searched K=(\d) φ1 (\w+) in full, criterion", text)
    assert {k for k, phi1 in screened if phi1 == "hog"} == {"3", "4", "5"}  # every K, φ1 first
    assert str(KINDS) in {k for k, _ in searched}  # (a far weaker runner-up is not searched)
    assert len(progress) <= 3 * seconds + 10, text  # a few a second at most
    assert text.strip().splitlines()[-1].startswith(f"done: {6 * KINDS} images in K={KINDS}")
    assert Path(tmp_path / "photos-by-class" / "labels.csv").is_file()
