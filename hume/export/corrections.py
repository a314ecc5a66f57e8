"""Corrections to a run's classes, as data: names, merges, moves and confirmations of single
rows, and classes to split (the file's keys: docs/data.md §3.13)::

    {"names": {"0": "boots"}, "merge": [[1, 2]], "moves": {"2024/june/img0007.png": 3},
     "confirm": ["2024/june/img0001.png"], "split": {"4": 2, "5": "2:4"}, "run": "photos"}

Classes are the integers of labels.csv in the run's own numbering (a merged class keeps the
first's number); ``run``, when given, must be the run the corrections are applied to. One file
applies in a fixed order: merges, moves (to a class merged away: to the class it is now part
of), confirmations (a row stays where it is now), names (within a merged group, the name of
the class nearest its front wins), splits. Moves and confirmations are the review's anchors;
only a refit carries out splits (hume.refit). Files stack, each on top of the ones before;
:class:`Review` checks a file completely before it changes anything, so a refused file leaves
nothing written. A row is named by its path as in labels.csv; ``<split>/<path>`` picks one
where several splits hold that path, ``<split>/<row>`` names a row of a dataset without files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting
from hume.core.reporting import counted
from hume.export.rows import RunRows
from hume.export.tables import EXPORT_FILES, class_folder, folder_name

KEYS = ("run", "names", "merge", "moves", "confirm", "split", "comment")
#: the most parts one class may be split into
MAX_SPLIT = 20
#: characters a class name may not hold: the gallery and the labeling config show names as is
FORBIDDEN = set('<>"')
MAX_NAME = 100


@dataclass
class Corrections:
    """One corrections file, parsed: ``names`` class -> name, ``merges`` groups of classes (the
    first takes the others), ``moves`` row key -> class, ``confirm`` row keys kept where they
    are, ``splits`` class -> (fewest, most) parts; ``note`` says what reading it found."""

    source: str
    names: dict[int, str] = field(default_factory=dict)
    merges: list[list[int]] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)
    confirm: list[str] = field(default_factory=list)
    splits: dict[int, tuple[int, int]] = field(default_factory=dict)
    run: str | None = None
    kind: str = "hume"
    sha256: str = ""
    note: str = ""


def _class_id(value: Any, source: str, where: str) -> int:
    """An integer class from JSON (an int, or a string of digits for object keys)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise HumeError(f"{source}: {where} {value!r} is no class: write the class's integer")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise HumeError(
                f"{source}: {where} {value!r} is no class: write the class's integer, as in "
                "labels.csv's class column"
            )
        return int(value)
    return value


def check_class_name(name: Any, source: str, c: int) -> str:
    """``name`` stripped, if it can name class ``c``; else :class:`HumeError`."""
    if not isinstance(name, str) or not name.strip():
        raise HumeError(f"{source}: the name of class {c} is empty: give it a non-empty text")
    name = name.strip()
    bad = sorted({ch for ch in name if ch in FORBIDDEN or not ch.isprintable()})
    if bad or len(name) > MAX_NAME:
        raise HumeError(
            f"{source}: the name of class {c} ({name[:40]!r}) is not allowed: names are at most "
            f'{MAX_NAME} printable characters without <, > or "'
        )
    return name


def parse_corrections(data: Any, source: str) -> Corrections:
    """A corrections file's JSON as :class:`Corrections` (shapes only; classes and rows are
    checked against the run by :meth:`Review.apply`)."""
    if not isinstance(data, dict):
        raise HumeError(
            f"{source} is no corrections file: write a JSON object with names, merge and "
            "moves, or pass a Label Studio JSON export"
        )
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise HumeError(
            f"{source}: unknown key {unknown[0]!r}: a corrections file holds {', '.join(KEYS)}"
        )
    out = Corrections(source)
    names, merges, moves = data.get("names", {}), data.get("merge", []), data.get("moves", {})
    if not isinstance(names, dict) or not isinstance(moves, dict):
        raise HumeError(f'{source}: names and moves must be JSON objects ({{"0": …}})')
    for key, name in names.items():
        c = _class_id(key, source, "names key")
        out.names[c] = check_class_name(name, source, c)
    if not isinstance(merges, list) or not all(isinstance(g, list) for g in merges):
        raise HumeError(f"{source}: merge must be a list of lists of classes, e.g. [[1, 2]]")
    for group in merges:
        if len(group) < 2:
            raise HumeError(
                f"{source}: the merge {group} lists fewer than two classes: list the class that "
                "stays first, then the ones merged into it"
            )
        out.merges.append([_class_id(c, source, "merged class") for c in group])
    for key, c in moves.items():
        out.moves[str(key)] = _class_id(c, source, f"the move of {key!r} to")
    run = data.get("run")
    if run is not None and not isinstance(run, str):
        raise HumeError(f"{source}: run must be the name of the run the file was made on")
    out.run = run
    confirm = data.get("confirm", [])
    if not isinstance(confirm, list) or not all(isinstance(r, str) for r in confirm):
        raise HumeError(
            f'{source}: confirm must be a list of row paths, e.g. ["2024/june/img0001.png"]'
        )
    out.confirm = list(dict.fromkeys(confirm))
    splits = data.get("split", {})
    if not isinstance(splits, dict):
        raise HumeError(f'{source}: split must be a JSON object of class -> parts, e.g. {{"3": 2}}')
    for key, parts in splits.items():
        c = _class_id(key, source, "split class")
        out.splits[c] = parse_parts(parts, f"{source}: the split of class {c}")
    return out


def parse_parts(value: Any, where: str) -> tuple[int, int]:
    """(fewest, most) parts of a split: an integer ``2``, or a range ``"2:4"``."""
    fix = f'write a number of parts from 2 to {MAX_SPLIT}, or a range such as "2:4"'
    if isinstance(value, int) and not isinstance(value, bool):
        lo = hi = value
    elif isinstance(value, str) and value.strip().isdigit():
        lo = hi = int(value)
    elif isinstance(value, str) and ":" in value:
        a, _, b = value.partition(":")
        if not (a.strip().isdigit() and b.strip().isdigit()):
            raise HumeError(f"{where}: {value!r} is no number of parts: {fix}")
        lo, hi = int(a), int(b)
    else:
        raise HumeError(f"{where}: {value!r} is no number of parts: {fix}")
    if not 2 <= lo <= hi <= MAX_SPLIT:
        raise HumeError(f"{where}: {value!r} is no number of parts: {fix}")
    return lo, hi


class Review:
    """A run's rows and classes as the corrections applied so far make them.

    ``apply`` checks one :class:`Corrections` against the state (classes in 0 … K−1, every
    moved row one of the export's rows), applies it, and checks the names that result (one
    class per name and per folder); ``finish`` gives the corrected :class:`RunRows`. Nothing
    here writes a file.
    """

    def __init__(self, rows: RunRows):
        self.rows = rows
        self.k = rows.k
        self.labels = [np.array(p.labels, dtype=np.int64, copy=True) for p in rows.parts]
        self.target = list(range(self.k))  # class -> the live class it is now part of
        self.members = {c: [c] for c in range(self.k)}  # live class -> its classes, first first
        for c, t in rows.merged_into.items():  # merged before (a refit keeps its merges)
            self.target[c] = t
            self.members[t].append(self.members.pop(c)[0])
        self.names: dict[int, str] = dict(rows.names)  # live class -> its name
        self.applied: list[dict[str, str]] = list(rows.corrections)
        self.notes: list[str] = []
        #: (part, row) -> the class a reviewer put it in (moved) or kept it in (confirmed)
        self.anchors: dict[tuple[int, int], int] = {}
        #: class -> (fewest, most) parts it is to be split into (hume.refit carries it out)
        self.splits: dict[int, tuple[int, int]] = {}
        self._paths: dict[str, list[tuple[int, int]]] | None = None

    # -- rows ---------------------------------------------------------------------------------

    def _by_path(self) -> dict[str, list[tuple[int, int]]]:
        if self._paths is None:
            self._paths = {}
            for p, part in enumerate(self.rows.parts):
                for i, path in enumerate(part.paths or []):
                    self._paths.setdefault(path, []).append((p, i))
        return self._paths

    def locate(self, path: str, split: str | None = None) -> tuple[int, int] | None:
        """(part, row) of the row whose file is ``path`` (in ``split``), or None."""
        hits = [
            (p, i)
            for p, i in self._by_path().get(path, [])
            if split is None or self.rows.parts[p].split == split
        ]
        if len(hits) > 1:
            splits = sorted({self.rows.parts[p].split for p, _ in hits})
            raise HumeError(
                f"{path!r} names {len(hits)} rows (splits {', '.join(splits)}): write it as "
                f"'<split>/{path}', e.g. '{splits[0]}/{path}'"
            )
        return hits[0] if hits else None

    def find_row(self, key: str) -> tuple[int, int] | None:
        """(part, row) a move's key names: a path, ``<split>/<path>`` or ``<split>/<row>``."""
        found = self.locate(key)
        if found is not None or "/" not in key:
            return found
        split, rest = key.split("/", 1)
        found = self.locate(rest, split)
        if found is None and rest.isdigit():
            for p, part in enumerate(self.rows.parts):
                if part.split == split and part.paths is None and int(rest) < len(part):
                    return p, int(rest)
        return found

    def key_of(self, p: int, i: int) -> str:
        """The shortest key :meth:`find_row` takes back to row ``i`` of part ``p``."""
        part = self.rows.parts[p]
        if part.paths is None:
            return f"{part.split}/{i}"
        path = part.paths[i]
        return path if len(self._by_path()[path]) == 1 else f"{part.split}/{path}"

    def example_key(self) -> str:
        return self.key_of(0, 0) if self.rows.parts and len(self.rows.parts[0]) else "…"

    # -- classes ------------------------------------------------------------------------------

    def name_of(self, c: int) -> str:
        """The name of the class ``c`` is now part of (given, else ``class_03``)."""
        t = self.target[c]
        return self.names.get(t) or class_folder(t, self.k)

    def live(self) -> list[int]:
        return [c for c in range(self.k) if self.target[c] == c]

    def class_of_name(self, name: str) -> int | None:
        """The live class a name stands for: a given name, or a ``class_03`` name; else None."""
        for t in self.live():
            if self.names.get(t) == name:
                return t
        for c in range(self.k):
            if class_folder(c, self.k) == name:
                return self.target[c]
        return None

    def _row_of(self, fix: Corrections, key: str) -> tuple[int, int]:
        """(part, row) of a row key of ``fix``, or a HumeError naming the file and the key."""
        try:
            where = self.find_row(key)
        except HumeError as exc:
            raise HumeError(f"{fix.source}: {exc.template}") from exc
        if where is None:
            raise HumeError(
                f"{fix.source}: {key!r} is no row of this export: name rows by their path "
                f"as in labels.csv's path column (e.g. {self.example_key()!r})"
            )
        return where

    def _check(
        self, fix: Corrections
    ) -> tuple[list[tuple[tuple[int, int], int]], list[tuple[int, int]]]:
        """Every class and row of ``fix`` known; (the moves as ((part, row), class), the
        confirmed rows as (part, row))."""
        if fix.run is not None and fix.run != self.rows.run:
            raise HumeError(
                f"{fix.source} was made on run {fix.run!r}, not on {self.rows.run!r}: apply it "
                f"to that run ({setting('run', fix.run)}, or {setting('parent', fix.run)})"
            )
        classes = [
            *fix.names,
            *(c for g in fix.merges for c in g),
            *fix.moves.values(),
            *fix.splits,
        ]
        for c in classes:
            if not 0 <= c < self.k:
                raise HumeError(
                    f"{fix.source}: class {c} is unknown: this run has classes 0 to {self.k - 1} "
                    "(labels.csv's class column); fix that class number"
                )
        moves = [(self._row_of(fix, key), c) for key, c in fix.moves.items()]
        confirmed = [self._row_of(fix, key) for key in fix.confirm]
        both = {where for where, _ in moves} & set(confirmed)
        if both:
            p, i = sorted(both)[0]
            raise HumeError(
                f"{fix.source}: {self.key_of(p, i)!r} is both moved and confirmed: keep one"
            )
        return moves, confirmed

    def apply(self, fix: Corrections) -> None:
        """Check ``fix`` completely, then apply its merges, moves, confirmations, names and
        splits in that order."""
        moves, confirmed = self._check(fix)
        for group in fix.merges:
            live = list(dict.fromkeys(self.target[c] for c in group))
            first = live[0]
            for t in live[1:]:
                for c in self.members[t]:
                    self.target[c] = first
                self.members[first] += self.members.pop(t)
                if first not in self.names and t in self.names:
                    self.names[first] = self.names[t]
                self.names.pop(t, None)
                for labels in self.labels:
                    labels[labels == t] = first
        changed = 0
        for (p, i), c in moves:
            changed += int(self.labels[p][i] != self.target[c])
            self.labels[p][i] = self.target[c]
            self.anchors[(p, i)] = c
        for p, i in confirmed:
            self.anchors[(p, i)] = int(self.labels[p][i])
        given: dict[int, tuple[int, str]] = {}  # live class -> (position in its group, name)
        for c, name in fix.names.items():
            t = self.target[c]
            rank = self.members[t].index(c)
            if t not in given or rank < given[t][0]:
                given[t] = (rank, name)
        for t, (_, name) in given.items():
            self.names[t] = name
        for c, parts in fix.splits.items():
            self.splits[self.target[c]] = parts
        self._check_names(fix.source)
        where = str(Path(fix.source).resolve())
        self.applied.append({"path": where, "sha256": fix.sha256, "format": fix.kind})
        said = [
            counted(len(fix.merges), "merge") if fix.merges else "",
            f"{counted(len(moves), 'move')} ({changed} changed a class)" if fix.moves else "",
            f"{len(confirmed)} confirmed" if confirmed else "",
            counted(len(fix.names), "name") if fix.names else "",
            counted(len(fix.splits), "split") if fix.splits else "",
            fix.note,
        ]
        self.notes.append(f"{fix.source}: {'; '.join(s for s in said if s) or 'no corrections'}")

    def _check_names(self, source: str) -> None:
        """One live class per name and per folder, and no folder named like an export file."""
        seen: dict[str, int] = {}
        folders: dict[str, int] = {}
        for t in self.live():
            name = self.name_of(t)
            if name in seen:
                raise HumeError(
                    f"{source}: classes {seen[name]} and {t} are both named {name!r}: give "
                    "them different names, or merge them"
                )
            seen[name] = t
            try:
                folder = folder_name(t, self.k, self.names.get(t))
            except HumeError as exc:
                raise HumeError(
                    f"{source}: the name of class {t} ({name!r}) makes no folder name: give "
                    "it letters or digits"
                ) from exc
            if folder.lower() in EXPORT_FILES:
                raise HumeError(
                    f"{source}: class {t}'s name {name!r} is a file the export writes: "
                    "choose another name"
                )
            if folder.lower() in folders:
                raise HumeError(
                    f"{source}: classes {folders[folder.lower()]} and {t} would share the "
                    f"folder {folder!r} ({name!r}): give them names that differ in letters or "
                    "digits"
                )
            folders[folder.lower()] = t

    def anchored(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per part, (rows, classes) of the anchors: every moved or confirmed row and the live
        class it is in now (a later merge takes an anchor along with its class)."""
        out = []
        for p in range(len(self.rows.parts)):
            hits = sorted((i, self.target[c]) for (q, i), c in self.anchors.items() if q == p)
            rows = np.array([i for i, _ in hits], dtype=np.int64)
            out.append((rows, np.array([c for _, c in hits], dtype=np.int64)))
        return out

    def live_splits(self) -> dict[int, tuple[int, int]]:
        """The splits asked for, by the live class each split class is now part of."""
        out: dict[int, tuple[int, int]] = {}
        for c, parts in self.splits.items():
            out[self.target[c]] = parts
        return out

    def finish(self) -> RunRows:
        """The corrected rows (the same rows; classes, names, merges and files applied); what
        each file did is in ``notes``, one line per file."""
        parts = [
            dataclasses.replace(part, labels=labels)
            for part, labels in zip(self.rows.parts, self.labels)
        ]
        return dataclasses.replace(
            self.rows,
            parts=parts,
            names={t: n for t, n in self.names.items() if self.target[t] == t},
            merged_into={c: t for c, t in enumerate(self.target) if t != c},
            corrections=self.applied,
        )
