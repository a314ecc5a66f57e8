"""A table of names for one kind of thing (models, datasets): what the embed registries share.

A name is either registered as it is (``clip``, ``cifar10``; matched case-blind, aliases from
:data:`hume.core.names.ALIASES` resolved) or starts with a registered prefix (``hf:``,
``imagefolder:``; matched as typed, since what follows is a hub repo or a path). Families
register themselves when their module is imported, in the timm manner.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hume.core.errors import HumeError
from hume.core.names import canonical

E = TypeVar("E")


@dataclass(frozen=True)
class Match(Generic[E]):
    """What a name resolved to: the entry, the canonical name, and the part after a prefix
    (the canonical name itself for a registered name)."""

    entry: E
    name: str
    spec: str


@dataclass(frozen=True)
class _Prefix(Generic[E]):
    entry: E
    pattern: str  # e.g. "hf:REPO": how the name is written
    example: str


class Registry(Generic[E]):
    """Registered names and name prefixes of one ``kind`` (``"model"``, ``"dataset"``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._named: dict[str, E] = {}
        self._prefixed: dict[str, _Prefix[E]] = {}

    def add(self, name: str, entry: E) -> None:
        if name != name.lower() or name in self._named:
            raise ValueError(f"{self.kind} {name!r} is registered twice or not in lower case")
        self._named[name] = entry

    def add_prefix(self, prefix: str, entry: E, *, pattern: str, example: str) -> None:
        if prefix in self._prefixed:
            raise ValueError(f"{self.kind} prefix {prefix!r} is registered twice")
        self._prefixed[prefix] = _Prefix(entry, pattern, example)

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching the shell-style ``pattern`` (``"dinov2*"``), sorted."""
        return sorted(n for n in self._named if fnmatch.fnmatchcase(n, pattern))

    def patterns(self) -> list[str]:
        """How names with a prefix are written (``hf:REPO``), sorted."""
        return sorted(p.pattern for p in self._prefixed.values())

    def where(self, keep: Callable[[E], bool]) -> list[str]:
        """Names, then patterns, whose entries ``keep`` accepts."""
        return [
            *(n for n in self.names() if keep(self._named[n])),
            *sorted(p.pattern for p in self._prefixed.values() if keep(p.entry)),
        ]

    def choices(self) -> str:
        """Every name and pattern, for messages and help: ``a, b, c, or p:X or q:Y``."""
        patterns = " or ".join(self.patterns())
        return ", ".join(self.names()) + (f", or {patterns}" if patterns else "")

    def lookup(self, name: str) -> Match[E]:
        """The entry ``name`` stands for; an unknown or incomplete name raises :class:`HumeError`."""
        if not isinstance(name, str) or not name.strip():
            raise HumeError(f"{self.kind} name is empty: use one of {self.choices()}")
        name = name.strip()
        key = canonical(self.kind, name.lower())
        if key in self._named:
            return Match(self._named[key], key, key)
        for prefix in sorted(self._prefixed, key=len, reverse=True):  # open_clip:hf-hub: first
            if name.startswith(prefix):
                found = self._prefixed[prefix]
                spec = name[len(prefix) :].strip()
                if not spec:
                    raise HumeError(
                        f"{self.kind} {name!r} is incomplete: write it as "
                        f"{found.pattern}, e.g. {found.example}"
                    )
                return Match(found.entry, name, spec)
        raise HumeError(f"unknown {self.kind} {name!r}: use one of {self.choices()}")
