"""Integrity of a store: a CRC-32 per chunk, written with the chunk and checked on every read.

Why a checksum per chunk kept beside the ``_done`` flags (``_crc32``, one entry per row chunk),
and not the backends' own codec checksums (Zarr v3's ``crc32c`` codec, HDF5's Fletcher-32
filter): a codec checksum travels inside the chunk it protects, so it detects flipped bytes but
not a chunk file that is missing (Zarr then silently returns fill values, HDF5 the same for an
unallocated chunk), nor a chunk replaced by another valid chunk (of this store or another one),
nor a chunk whose array metadata was changed to another shape or dtype (the codec decodes it
happily). A checksum of the *decoded* rows, kept apart from them, catches all of these, works the
same for both backends (one code path for reading, ``hume verify`` and repair), keeps the chunk
files themselves plain, and lets ``hume import`` tell identical content from recorded checksums
without reading the store. It is written in the same step as the ``_done`` flag (data, then
checksum, then flag), so a flagged chunk always has its checksum.

The labels and the ``paths`` array are checked the same way (attributes ``labels_crc32`` and
``paths_crc32``). Stores written before checksums existed have no ``_crc32`` array: they still
load, with the checks that need no checksum (readable, right shape and dtype, no unwritten rows).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hume.core.reporting import SILENT, Reporter

if TYPE_CHECKING:
    from hume.store.feature_store import FeatureStore

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


def damage_message(store: FeatureStore, damage: Sequence[Damage]) -> str:
    """One line: which store, which rows, what is wrong, how to repair it."""
    shown = "; ".join(d.describe() for d in damage[:3])
    more = f" and {len(damage) - 3} more" if len(damage) > 3 else ""
    return (
        f"the store {store.path} is damaged: {shown}{more}; repair it with "
        f"`hume verify {store.path} --repair` (re-computes exactly the damaged chunks)"
    )


def verify_store(
    store: FeatureStore, reporter: Reporter = SILENT, chunks: Sequence[int] | None = None
) -> list[Damage]:
    """Check ``chunks`` (default: every written chunk), the labels and the paths of ``store``.

    Reads one chunk at a time (memory: one chunk), with a progress task over the rows. An
    unwritten chunk of an incomplete store is not damage (it is still to be written); in a
    complete store it is.
    """
    done = store.done_mask()
    todo = [int(c) for c in (range(store.n_chunks) if chunks is None else chunks)]
    if not store.is_complete:
        todo = [c for c in todo if done[c]]
    crcs = store.recorded_crcs()
    found: list[Damage] = []
    with reporter.task(f"verify {store.path.name}", total=store.n_rows, unit="rows") as task:
        for c in todo:
            _, damage = store.check_chunk(c, done, crcs)
            if damage is not None:
                found.append(damage)
            start, stop = store.chunk_bounds(c)
            task.advance(stop - start)
    found += store.check_labels_and_paths()
    return found
