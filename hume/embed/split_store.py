"""The store of one split: made ready for the chunks still to compute (created, resumed after its
written chunks are verified, repaired, or refused when made with other settings), and filled by
the ranks' shares of those chunks, then marked complete."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core import distributed as dist_
from hume.core.distributed import Ranks
from hume.core.errors import HumeError, setting
from hume.core.reporting import SILENT, Reporter, logger
from hume.core.versions import library_versions
from hume.embed.backbones import Backbone
from hume.embed.chunk_compute import Transformed, compute_chunks
from hume.embed.datasets import store_dataset_name
from hume.embed.embed_settings import (
    IDENTITY_KEYS,
    OPTIONS_ATTR,
    EmbedPrecision,
    default_chunk_rows,
)
from hume.store import (
    FeatureStore,
    StoreDtype,
    create_store,
    open_store,
    remove_leftovers,
)
from hume.store.checksums import Damage
from hume.store.verification import verify_store


# -- the store of one split --------------------------------------------------------------------
@dataclass
class Target:
    """One store to fill: where it lives, what is left to compute, what was found damaged
    (``damaged``; ``originals``: the checksums recorded for the damaged chunks, where readable),
    and whether it is complete already (a verified store with nothing to compute)."""

    split: str
    path: Path
    missing: list[int]
    n_chunks: int
    resumed: bool
    damaged: list[Damage] = field(default_factory=list)
    originals: dict[int, int] = field(default_factory=dict)
    complete: bool = False


def labels_of(data: Any, n_rows: int) -> np.ndarray:
    """Ground-truth labels of a split without loading its images (−1 where unknown)."""
    for source in (data, getattr(data, "dataset", None)):
        for attr in ("labels", "targets"):
            y = getattr(source, attr, None)
            if y is not None and not callable(y):
                y = np.asarray(y)
                if y.ndim == 1 and len(y) == n_rows:
                    return y.astype(np.int64)
    # No label array exposed: read the items (slow for images; datasets should expose labels).
    return np.asarray([int(data.dataset[i][1]) for i in range(n_rows)], dtype=np.int64)


def _identity_mismatch(
    old: dict[str, Any], new: dict[str, Any], chunk_rows: int | None
) -> list[str]:
    keys = list(IDENTITY_KEYS) + (["chunk_rows"] if chunk_rows else [])
    return [
        f"{k}: {old.get(k)!r} in the store, {new.get(k)!r} now"
        for k in keys
        if k in new and old.get(k) != new.get(k)
    ]


def check_identity(
    store: FeatureStore, attrs: dict[str, Any], dtype: StoreDtype, dim: int, chunk_rows: int | None
) -> None:
    """Refuse an existing store made with other settings than ``attrs`` (resuming would mix its
    rows; calling a complete one done would answer another request)."""
    now = {**attrs, "dtype": dtype.value, "dim": dim, "chunk_rows": chunk_rows}
    diff = _identity_mismatch(store.attrs, now, chunk_rows)
    if not diff:
        return
    if store.is_complete:
        raise HumeError(
            f"the complete store {store.path} was made with other settings "
            f"({'; '.join(diff)}): pass {setting('overwrite', True)} to embed it again with these"
        )
    raise HumeError(
        f"the unfinished store {store.path} was started with other settings "
        f"({'; '.join(diff)}): run it again with its settings to finish it, or pass "
        f"{setting('overwrite', True)} to start over"
    )


def _reopen(
    path: Path,
    attrs: dict[str, Any],
    dtype: StoreDtype,
    dim: int,
    chunk_rows: int | None,
    labels_fn: Any,
    paths: list[str] | None,
    reporter: Reporter,
) -> Target:
    """An existing store to resume or repair: its written chunks are verified first, and the
    damaged ones (and damaged labels or paths) are cleared to be written again."""
    with open_store(path, mode="r+", allow_incomplete=True) as store:
        check_identity(store, attrs, dtype, dim, chunk_rows)
        damage = verify_store(store, reporter)
        crcs = store.recorded_crcs()
        bad = [d.chunk for d in damage if d.chunk is not None]
        originals = {c: int(crcs[c]) for c in bad if crcs is not None and crcs[c] >= 0}
        for d in damage:
            if d.part == "labels":
                store.write_labels(labels_fn())
            if d.part == "paths" and paths is not None:
                store.write_paths(paths)
        if bad:
            store.clear_chunks(bad)
        missing = store.missing_chunks()
        return Target(
            attrs["split"],
            path,
            missing,
            store.n_chunks,
            True,
            damage,
            originals,
            complete=store.is_complete,
        )


def prepare_store(
    path: Path,
    n_rows: int,
    dim: int,
    *,
    dtype: StoreDtype,
    chunk_rows: int | None,
    batch_size: int,
    attrs: dict[str, Any],
    labels_fn: Any,
    overwrite: bool,
    paths: list[str] | None = None,
    reporter: Reporter = SILENT,
) -> Target:
    """Create the store of one split, or reopen an existing one to resume or repair it (rank 0
    only, holding the store's lock)."""
    remove_leftovers(path)
    if path.exists() and not overwrite:
        attrs = {**attrs, "n_rows": n_rows}
        return _reopen(path, attrs, dtype, dim, chunk_rows, labels_fn, paths, reporter)
    rows = min(int(chunk_rows or default_chunk_rows(batch_size, n_rows)), n_rows)
    create_store(
        path,
        n_rows,
        dim,
        dtype=dtype,
        chunk_rows=rows,
        attrs=attrs,
        labels=labels_fn(),
        paths=paths,
        overwrite=overwrite,
    ).close()
    n_chunks = -(-n_rows // rows)
    return Target(attrs["split"], path, list(range(n_chunks)), n_chunks, False)


# -- the stage ---------------------------------------------------------------------------------
def complete_as_asked(
    path: Path, attrs: dict[str, Any], n_rows: int, dtype: StoreDtype, dim: int, chunk_rows: Any
) -> bool:
    """True for a complete store made with these settings; a complete store made with others
    is refused (see :func:`check_identity`); False otherwise (missing, unfinished, unreadable:
    :func:`prepare_store` deals with those)."""
    if not path.exists():
        return False
    try:
        store = open_store(path, mode="r", allow_incomplete=True)
    except HumeError:
        return False
    with store:
        if not store.is_complete:
            return False
        check_identity(store, {**attrs, "n_rows": n_rows}, dtype, dim, chunk_rows)
        return True


def store_attrs(
    backbone: Backbone,
    data: Any,
    dataset: str,
    split: str,
    precision: EmbedPrecision,
    device: Any,
    options: dict[str, Any],
) -> dict[str, Any]:
    """The attributes of a split's store (docs/data.md §2.3): the backbone's description, the
    dataset's, how rows are identified, and the ``options`` of the embedding that makes it."""
    info = dict(backbone.info)
    versions = {**info.pop("versions", {}), **library_versions("torch", "torchvision")}
    return {
        **info,
        # the view name (as in the store path and `--views`); the backbone's own description stays
        "model": backbone.name,
        "architecture": info.get("model", backbone.name),
        "dataset": store_dataset_name(dataset),
        "dataset_spec": dataset,
        "split": split,
        "dataset_info": dict(getattr(data, "info", {}) or {}),
        # how a row is identified: its file (image folders) or its index in the library's dataset
        "row_ids": "paths" if getattr(data, "paths", None) is not None else "index",
        "rows_digest": (getattr(data, "info", {}) or {}).get("rows_digest"),
        "num_classes": getattr(data, "num_classes", None),
        "classes": list(getattr(data, "classes", None) or []),
        "precision": precision.value,
        "batch_size": int(options["batch_size"]),
        "device": device.type,
        "world_size": dist_.ranks_from_env().world_size,
        "versions": versions,
        OPTIONS_ATTR: {**options, "split": split},
    }


def fill_target(
    target: Target,
    data: Any,
    backbone: Backbone,
    device: Any,
    precision: EmbedPrecision,
    batch_size: int,
    workers: int,
    ranks: Ranks,
    reporter: Reporter,
) -> bool:
    """Fill the missing chunks of one store (this rank's share), then mark it complete; False
    when nothing was written (a complete store verified intact)."""
    main = ranks.is_main
    more = f" and {len(target.damaged) - 3} more" if len(target.damaged) > 3 else ""
    shown = "; ".join(d.describe() for d in target.damaged[:3]) + more
    if target.complete:  # verified: at most its labels or paths needed rewriting (done)
        if main and target.damaged:
            logger.info("repaired %s: %s, rewritten", target.path, shown)
        elif main:
            logger.info("nothing to repair: %s verified (%d chunks)", target.path, target.n_chunks)
        return bool(target.damaged)
    mine = ranks.share(target.missing)
    if main and target.damaged:
        logger.info("repair %s: %s", target.path, shown)
    elif main and target.resumed:
        logger.info(
            "resume %s: %d of %d chunks left", target.path, len(target.missing), target.n_chunks
        )
    store = open_store(target.path, mode="r+", allow_incomplete=True)
    try:
        n_rows = sum(
            min((c + 1) * store.chunk_rows, store.n_rows) - c * store.chunk_rows for c in mine
        )
        who = f" [rank {ranks.rank}/{ranks.world_size}]" if ranks.distributed else ""
        started = time.perf_counter()
        with reporter.task(f"{target.split}{who}", total=n_rows, unit="img") as task:
            compute_chunks(
                store,
                mine,
                Transformed(data.dataset, backbone.transform),
                backbone,
                device,
                precision,
                batch_size,
                workers,
                on_rows=task.advance,
            )
        seconds = time.perf_counter() - started
    finally:
        store.close()
    if ranks.distributed:
        logger.info(
            "rank %d/%d: wrote %d chunks (%d rows)", ranks.rank, ranks.world_size, len(mine), n_rows
        )
    dist_.barrier(ranks)
    if main:
        with open_store(target.path, mode="r+", allow_incomplete=True) as store:
            store.mark_complete()
            shape = f"{store.n_rows} x {store.dim} {store.dtype}"
            crcs = store.recorded_crcs()
        rate = f", {n_rows / seconds:,.1f} img/s" if seconds > 0 and n_rows else ""
        logger.info("wrote %s (%s%s)", target.path, shape, rate)
        if target.originals and crcs is not None:
            same = sum(int(crcs[c]) == v for c, v in target.originals.items())
            logger.info(
                "repaired %s: %d of %d re-embedded chunks equal the original bytes",
                target.path,
                same,
                len(target.originals),
            )
    return True
