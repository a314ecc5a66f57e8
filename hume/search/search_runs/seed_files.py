"""A run's seeds on disk: one file per finished seed, one per group of seeds in flight.

``<run>/seeds/seed-00042.pt`` holds what seed 42's search left (its encoder, objective and
labeling of the searched rows); ``<run>/seeds/group-00040.pt`` the state of the group that starts
at seed 40 while it runs (iteration, parameters, Adam moments, …; docs/data.md §3.5). Every file
is written atomically by the one process searching that group, so processes sharing the seeds of
a run never write the same file, and a process that dies loses only the iterations of its groups
since their last checkpoint. Runs of earlier versions kept everything in one ``state.pt``; it is
read once into these files (:meth:`SeedFiles.import_state`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError, command, setting
from hume.core.files import remove_partial_writes, save_torch

FOLDER = "seeds"
LEGACY_STATE = "state.pt"
_SEED = re.compile(r"seed-(\d+)\.pt")
_GROUP = re.compile(r"group-(\d+)\.pt")


def _load(path: Path, what: str, then: str) -> Any:
    """A file of tensors, numbers, lists and dicts (no arbitrary unpickling)."""
    import torch

    try:
        return torch.load(path, weights_only=True)
    except OSError as exc:  # permission, a vanished file, the disk: not the file's content
        raise HumeError(
            f"cannot read {what} {path}: {exc.strerror or exc}; make it readable (it may be "
            "intact), then run the same command again"
        ) from exc
    except Exception as exc:  # it was read but does not load: damaged, it cannot be trusted
        raise HumeError(f"{what} {path} is unreadable ({type(exc).__name__}): {then}") from exc


def seed_ranges(seeds: Iterable[int]) -> str:
    """``0–3, 8, 10–11``: sorted seeds as runs of consecutive numbers."""
    runs: list[list[int]] = []
    for s in sorted(set(seeds)):
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


class SeedFiles:
    """The :class:`~hume.search.optimiser.random_streams.Ledger` of a run directory (one file per seed and per
    group in flight). ``after_checkpoint()`` runs after every state in flight is saved (the
    ``HUME_SEARCH_FAULT`` hook)."""

    def __init__(self, run_dir: str | Path, after_checkpoint: Callable[[], None] | None = None):
        self.folder = Path(run_dir) / FOLDER
        self.after_checkpoint = after_checkpoint

    def seed_path(self, seed: int) -> Path:
        return self.folder / f"seed-{seed:05d}.pt"

    def group_path(self, group: list[int]) -> Path:
        return self.folder / f"group-{group[0]:05d}.pt"

    # -- the Ledger protocol ---------------------------------------------------------------
    def finished(self) -> set[int]:
        if not self.folder.is_dir():
            return set()
        return {int(m[1]) for p in self.folder.iterdir() if (m := _SEED.fullmatch(p.name))}

    def result(self, seed: int) -> dict:
        path = self.seed_path(seed)
        if not path.is_file():
            raise HumeError(
                f"seed {seed} has no result at {path}: every process of a search must write "
                "into the same run directory (a root on a file system they all share)"
            )
        kept = _load(
            path,
            "the seed file",
            f"delete it; {command('search', setting('resume', True))} searches its group again",
        )
        return {key: kept[key] for key in ("encoder", "labels", "objective")}

    def in_flight(self, group: list[int]) -> dict | None:
        path = self.group_path(group)
        if not path.is_file():
            return None
        state = _load(path, "the state of a seed group", "delete it; its group starts again")
        return state if list(state.get("seed_ids", [])) == list(group) else None

    def save_in_flight(self, group: list[int], state: dict) -> None:
        save_torch(state, self.group_path(group))
        if self.after_checkpoint is not None:
            self.after_checkpoint()

    def finish_group(self, group: list[int], kept: dict[int, dict]) -> None:
        for seed in group:  # each seed on its own, then the group is no longer in flight
            save_torch({"seed": seed, "group": list(group), **kept[seed]}, self.seed_path(seed))
        self.group_path(group).unlink(missing_ok=True)

    # -- the run's bookkeeping -------------------------------------------------------------
    def groups_in_flight(self) -> list[int]:
        """The first seeds of the groups with a saved state."""
        if not self.folder.is_dir():
            return []
        return sorted(int(m[1]) for p in self.folder.iterdir() if (m := _GROUP.fullmatch(p.name)))

    def tidy(self, groups: list[list[int]]) -> None:
        """Remove what killed writers left: half-written files, and the states of groups whose
        seeds are all in. Only for the one process that owns the run right now."""
        if not self.folder.is_dir():
            return
        remove_partial_writes(self.folder)
        done = self.finished()
        for group in groups:
            if set(group) <= done:
                self.group_path(group).unlink(missing_ok=True)

    def import_state(self, run_dir: str | Path) -> int | None:
        """Read a run's ``state.pt`` (earlier versions) into seed and group files, then remove
        it; the group size it recorded (None without such a file)."""
        path = Path(run_dir) / LEGACY_STATE
        if not path.is_file():
            return None
        state = _load(path, "the resume state", "delete it to restart the run from its beginning")
        for seed, kept in dict(state.get("done") or {}).items():
            save_torch({"seed": int(seed), **kept}, self.seed_path(int(seed)))
        current = state.get("current")
        if current is not None:
            save_torch(current, self.group_path(list(current["seed_ids"])))
        path.unlink()
        size = state.get("group_size")
        return int(size) if size is not None else None
