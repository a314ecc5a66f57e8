"""Test hooks that stop a process at a known point (set by tests and bench/faults.py, never by
users): an environment variable ``KIND:K`` names what happens at the K-th point. A process that
pauses there first creates the file named by ``HUME_FAULT_READY`` (when set), so that a test
knows it has arrived."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

READY_ENV = "HUME_FAULT_READY"


def fault_point(env: str) -> tuple[str, int] | None:
    """``(kind, K)`` from the variable ``env`` (e.g. ``kill:3``), or None when it is not set."""
    raw = os.environ.get(env, "")
    if ":" not in raw:
        return None
    kind, count = raw.split(":", 1)
    return kind, int(count)


def maybe_fault(fault: tuple[str, int] | None, count: int, where: str = "") -> None:
    """At the ``count``-th point: ``kill<where>`` SIGKILLs this process, ``pause<where>`` sleeps
    until a signal ends it (SIGINT raises KeyboardInterrupt there)."""
    if fault is None or count != fault[1]:
        return
    if fault[0] == f"kill{where}":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault[0] == f"pause{where}":
        if os.environ.get(READY_ENV):
            Path(os.environ[READY_ENV]).touch()
        while True:
            time.sleep(0.05)
