"""Corrections to a run's classes, as data: names, merges and moves of single rows.

A corrections file is a JSON object (docs/data.md §3.10)::

    {"names": {"0": "boots"}, "merge": [[1, 2]], "moves": {"2024/june/img0007.png": 3}}

Classes are the integers of labels.csv, always in the run's own numbering (a review never
renumbers: a merged class keeps the first's number). One file is applied in a fixed order:
merges (each group becomes its first class; the first's name wins unless only a later one is
named), then moves (a row to a class; a class merged away means the class it is now part of),
then names (given to the class the named class is now part of; within one group, the name of
the class nearest the front of the group wins). Files stack: each applies on top of the ones
before. :class:`Review` checks each file completely before it changes anything, and the
export only starts once every file has passed, so a refused file leaves nothing written.
A row is named by its path as in labels.csv; ``<split>/<path>`` picks one where several
splits hold that path, and ``<split>/<row>`` names a row of a dataset without files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.export.rows import RunRows
from hume.export.tables import EXPORT_FILES, class_folder, folder_name

KEYS = ("names", "merge", "moves", "comment")
#: characters a class name may not hold: the gallery and the labeling config show names as is
FORBIDDEN = set('<>"')
MAX_NAME = 100


@dataclass
class Corrections:
    """One corrections file, parsed: ``names`` class -> name, ``merges`` groups of classes (the
    first takes the others), ``moves`` row key -> class; ``note`` says what reading it found."""

    source: str
    names: dict[int, str] = field(default_factory=dict)
    merges: list[list[int]] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)
    kind: str = "hume"
    sha256: str = ""
    note: str = ""


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
    return out


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
        self.names: dict[int, str] = dict(rows.names)  # live class -> its name
        self.applied: list[dict[str, str]] = list(rows.corrections)
        self.notes: list[str] = []
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

    def _check(self, fix: Corrections) -> list[tuple[tuple[int, int], int]]:
        """Every class and row of ``fix`` known; the moves as ((part, row), class)."""
        classes = [*fix.names, *(c for g in fix.merges for c in g), *fix.moves.values()]
        for c in classes:
            if not 0 <= c < self.k:
                raise HumeError(
                    f"{fix.source}: class {c} is unknown: this run has classes 0 to {self.k - 1} "
                    "(labels.csv's class column); fix that class number"
                )
        moves = []
        for key, c in fix.moves.items():
            try:
                where = self.find_row(key)
            except HumeError as exc:
                raise HumeError(f"{fix.source}: {exc}") from None
            if where is None:
                raise HumeError(
                    f"{fix.source}: {key!r} is no row of this export: name rows by their path "
                    f"as in labels.csv's path column (e.g. {self.example_key()!r})"
                )
            moves.append((where, c))
        return moves

    def apply(self, fix: Corrections) -> None:
        """Check ``fix`` completely, then apply its merges, moves and names in that order."""
        moves = self._check(fix)
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
        given: dict[int, tuple[int, str]] = {}  # live class -> (position in its group, name)
        for c, name in fix.names.items():
            t = self.target[c]
            rank = self.members[t].index(c)
            if t not in given or rank < given[t][0]:
                given[t] = (rank, name)
        for t, (_, name) in given.items():
            self.names[t] = name
        self._check_names(fix.source)
        where = str(Path(fix.source).resolve())
        self.applied.append({"path": where, "sha256": fix.sha256, "format": fix.kind})
        said = [
            _count(len(fix.merges), "merge") if fix.merges else "",
            f"{_count(len(moves), 'move')} ({changed} changed a class)" if fix.moves else "",
            _count(len(fix.names), "name") if fix.names else "",
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
            except HumeError:
                raise HumeError(
                    f"{source}: the name of class {t} ({name!r}) makes no folder name: give "
                    "it letters or digits"
                ) from None
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
