"""``hume search --seed-range A:B``: independent processes (e.g. a job array) sharing one run.

Each shard searches seeds A … B−1 into the run (whole seed groups) and writes no selection; the
first shard to come creates the run and the others join it, one at a time under the run's lock
(:func:`hume.runs.run_lock`), which a shard holds only while it joins. A shard then holds a lock of
its own range while it searches and leaves a record of its range in ``<run>/shards/``, so that
overlapping ranges are refused and a range being searched is not searched twice at once. Once
every seed is in, ``hume search --resume --run R`` selects and ensembles (docs/data.md §3).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from hume.core.errors import HumeError, setting
from hume.core.files import read_json, write_json
from hume.core.locks import ExclusiveLock

FOLDER = "shards"


def parse_seed_range(text: str) -> range:
    """``"A:B"`` → seeds A … B−1 (0 ≤ A < B), or a HumeError saying how to write it."""
    parts = str(text).split(":")
    try:
        start, stop = (int(p) for p in parts)
    except ValueError:
        start = stop = -1
    if len(parts) != 2 or not 0 <= start < stop:
        raise HumeError(
            f"{setting('seed_range')} takes A:B, the seeds A … B−1 with 0 ≤ A < B (e.g. 0:10), "
            f"got {text!r}"
        )
    return range(start, stop)


def shown(seeds: range) -> str:
    return f"{seeds.start}:{seeds.stop}"


def check_seed_range(seeds: range, n_seeds: int, group_size: int) -> None:
    """Refuse a range outside the run's seeds or one that cuts a seed group in two."""
    if seeds.stop > n_seeds:
        raise HumeError(
            f"{setting('seed_range', shown(seeds))} lies outside the run's seeds 0:{n_seeds} (it has "
            f"{n_seeds} seeds): give bounds within 0:{n_seeds}"
        )
    if seeds.start % group_size or (seeds.stop % group_size and seeds.stop != n_seeds):
        raise HumeError(
            f"{setting('seed_range', shown(seeds))} cuts the run's seed groups (groups of {group_size} "
            f"seeds: 0:{group_size}, {group_size}:{2 * group_size}, …): give bounds that are "
            f"multiples of {group_size} (or {n_seeds}, the end), or choose "
            f"{setting('group_size')} when the run is created"
        )


class Shards:
    """The shards recorded in a run directory."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / FOLDER

    def _record(self, seeds: range) -> Path:
        return self.folder / f"{seeds.start:05d}-{seeds.stop:05d}.json"

    def _lock(self, seeds: range) -> ExclusiveLock:
        return ExclusiveLock(
            self.folder / f".{seeds.start:05d}-{seeds.stop:05d}.lock",
            f"seeds {shown(seeds)} of run {self.run_dir.name!r} are being searched by another "
            f"process right now ({setting('seed_range', shown(seeds))}): wait for it, or stop it",
        )

    def recorded(self) -> list[range]:
        """Every shard that ever started on this run, by first seed."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in self.folder.glob("*.json"):
            start, stop = read_json(path)["seeds"]
            out.append(range(int(start), int(stop)))
        return sorted(out, key=lambda r: r.start)

    def running(self) -> list[range]:
        """The shards searching right now (their lock is held)."""
        return [r for r in self.recorded() if self._lock(r).held_by_another()]

    def claim(self, seeds: range) -> ExclusiveLock:
        """Record the shard ``seeds`` and take its lock (the caller holds the run's lock): a
        range overlapping another shard's is refused, and so is one being searched now."""
        for other in self.recorded():
            if other != seeds and other.start < seeds.stop and seeds.start < other.stop:
                raise HumeError(
                    f"{setting('seed_range', shown(seeds))} overlaps the shard {shown(other)} of run "
                    f"{self.run_dir.name!r}: shards must not overlap (every seed is searched by "
                    f"one shard); to continue that shard, run "
                    f"{setting('seed_range', shown(other))} again"
                )
        lock = self._lock(seeds)
        lock.acquire()
        try:
            write_json(
                self._record(seeds),
                {
                    "seeds": [seeds.start, seeds.stop],
                    "started": datetime.now(UTC).isoformat(),
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                },
            )
        except BaseException:
            lock.release()
            raise
        return lock
