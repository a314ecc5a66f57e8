"""Verifying a whole store against its checksums, one chunk at a time (`hume verify`, a resume,
a repair)."""

from __future__ import annotations

from collections.abc import Sequence

from hume.core.reporting import SILENT, Reporter
from hume.store.checksums import Damage
from hume.store.feature_store import FeatureStore


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
