"""A store's checksums: a CRC-32 of every chunk of rows, of the labels and of the paths, written
with them and checked on every read (why this scheme, and not the backends' own: docs/data.md
§2.9), and the description of what a check found damaged."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hume.core.errors import command, setting

CRC_ARRAY = "_crc32"  # (n_chunks,) int64, −1 until the chunk is written
LABELS_CRC = "labels_crc32"
PATHS_CRC = "paths_crc32"
SCHEME = "crc32"  # the store attribute ``checksums``


def crc32(array: np.ndarray) -> int:
    """CRC-32 of an array's bytes as stored: C order, little-endian."""
    a = np.ascontiguousarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return zlib.crc32(a.data)


def crc32_of_strings(values: Sequence[str]) -> int:
    """CRC-32 of strings in order (NUL-separated UTF-8: NUL cannot occur in a file name)."""
    return zlib.crc32("\0".join(values).encode())


@dataclass(frozen=True)
class Damage:
    """One damaged part of a store: a chunk of rows (``chunk``, rows ``[start, stop)``), or its
    ``labels`` or ``paths`` array as a whole."""

    part: str
    problem: str
    chunk: int | None = None
    start: int = 0
    stop: int = 0

    def describe(self) -> str:
        if self.chunk is None:
            return f"its {self.part} {self.problem}"
        return f"rows {self.start}–{self.stop - 1} (chunk {self.chunk}) {self.problem}"


def damage_message(path: Path, damage: Sequence[Damage]) -> str:
    """One line: which store, which rows, what is wrong, how to repair it."""
    shown = "; ".join(d.describe() for d in damage[:3])
    more = f" and {len(damage) - 3} more" if len(damage) > 3 else ""
    return (
        f"the store {path} is damaged: {shown}{more}; repair it with "
        f"{command('verify', str(path), setting('repair', True))} (re-computes exactly the "
        "damaged chunks)"
    )
