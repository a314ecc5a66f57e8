"""The embed pipeline: a frozen backbone over every sample of a dataset split, streamed into a store.

For each split: rank 0 creates the store (attributes and ground-truth labels first, so a store at
its final path is always fully described), then every rank computes whole row chunks among the
missing ones and writes each chunk as soon as it is done. Host memory holds one chunk of features
at a time, whatever N is. Batches never straddle a chunk boundary, so a chunk's features do not
depend on which run, rank or resume computed it: an interrupted and resumed store is bit-for-bit
the store of an uninterrupted run. A lock file beside the store keeps a second run off a store
that is being written. A resume first re-checks the chunks already written (their checksums) and
redoes any that fail; ``repair=True`` does the same for a complete store, so exactly the damaged
chunks are embedded again. A complete store asked for again with the same settings is a no-op.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hume.core import distributed as dist_
from hume.core.devices import resolve_device
from hume.core.disk_errors import disk_errors
from hume.core.errors import HumeError, setting
from hume.core.fixed_choices import choose
from hume.core.reporting import SILENT, Reporter, logger
from hume.embed.backbones import Backbone, FeatureKind, create_backbone
from hume.embed.datasets import get_dataset, requested_splits, store_dataset_name
from hume.embed.embed_settings import OPTIONS_ATTR, SAME_SPACE, EmbedPrecision, compute_precision
from hume.embed.split_store import (
    Target,
    complete_as_asked,
    fill_target,
    labels_of,
    prepare_store,
    store_attrs,
)
from hume.store import (
    StoreDtype,
    StoreFormat,
    bytes_to_write,
    check_format,
    open_store,
    resolve_root,
    store_lock,
    store_path,
)


def embed_like(
    store: str | os.PathLike,
    dataset: str,
    root: str | os.PathLike | None = None,
    device: str = "auto",
    workers: int = 4,
    reporter: Reporter = SILENT,
) -> list[Path]:
    """Embed ``dataset`` (every split it has) as the store at ``store`` was embedded: the same
    model, weights, feature kind, precision and dtype; the stores written or found complete.
    Refuses a store that does not record how it was embedded (an imported one, say)."""
    with open_store(store, allow_incomplete=True) as st:
        options = st.attrs.get(OPTIONS_ATTR)
    if not isinstance(options, dict) or "model" not in options:
        raise HumeError(
            f"the store {store} does not record how it was embedded (imported, or made before "
            "hume recorded it): embed or import the new images the same way yourself"
        )
    kwargs = {key: options[key] for key in SAME_SPACE if options.get(key) is not None}
    return embed(
        dataset=dataset, root=root, device=device, workers=workers, reporter=reporter, **kwargs
    )


def _local(path: str | os.PathLike | None) -> str | None:
    """A path option as an absolute path when it names something here (else as given)."""
    if path is None:
        return None
    return str(Path(path).resolve()) if Path(path).exists() else str(path)


def embed(
    model: str,
    dataset: str,
    split: str | None = None,
    root: str | os.PathLike | None = None,
    fmt: StoreFormat | str = StoreFormat.zarr,
    batch_size: int = 256,
    device: str = "auto",
    precision: EmbedPrecision | str = EmbedPrecision.fp16,
    workers: int = 4,
    data_dir: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    feature: FeatureKind | str = FeatureKind.cls,
    dtype: StoreDtype | str = StoreDtype.float16,
    overwrite: bool = False,
    chunk_rows: int | None = None,
    backbone: Backbone | None = None,
    repair: bool = False,
    reporter: Reporter = SILENT,
) -> list[Path]:
    """Embed every requested split of ``dataset`` with ``model`` into stores; return the stores
    of the request, one per split (written now or found complete).

    ``split=None`` embeds every split the dataset has. A complete store made with the same
    settings is left alone (a no-op that says so; one made with other settings is refused) unless
    ``overwrite`` (embed it again) or ``repair`` (verify it and embed exactly its damaged chunks
    again); an unfinished store made with the same settings is resumed: its written chunks are
    verified, then the missing and damaged ones are computed. Under torchrun (``WORLD_SIZE`` > 1)
    the ranks share those chunks; only Zarr allows that. ``device``: ``auto``, ``cpu``, ``cuda``
    or ``cuda:N`` (:func:`hume.core.devices.resolve_device`). ``backbone``: an already-built
    :class:`~hume.embed.backbones.Backbone` of ``model`` to reuse (e.g. to embed several
    datasets with one loaded model); ``weights`` and ``feature`` are then ignored.

    Progress (images, verified rows) goes to ``reporter``, one task per store; what was skipped,
    resumed, repaired and written goes to the ``hume`` logger. A full disk or an unwritable root
    raises one :class:`HumeError` saying how much is needed; the store stays resumable.
    """
    fmt, dtype, feature, precision = _checked_options(
        fmt, dtype, feature, precision, batch_size, workers, chunk_rows, repair, overwrite
    )
    ranks = dist_.ranks_from_env()
    root_path = resolve_root(root)
    dev = resolve_device(device, ranks.local_rank)
    if not ranks.is_main:
        reporter = SILENT  # one bar per job: rank 0's
    options = {
        "model": model,
        "dataset": dataset,
        "format": fmt.value,
        "batch_size": int(batch_size),
        "precision": precision.value,
        "data_dir": _local(data_dir),
        "weights": _local(weights),
        "feature": feature.value,
        "dtype": dtype.value,
        "chunk_rows": chunk_rows,
    }
    joined = dist_.start(ranks, dev.type)
    try:

        def load(split_name: str) -> Any:  # rank 0 first: it may download
            data_path = Path(data_dir) if data_dir else root_path / "data"
            return dist_.main_first(ranks, lambda: get_dataset(dataset, split_name, data_path))

        splits = requested_splits(dataset, split)
        first = load(splits[0])
        splits[0] = first.split  # an alias such as ImageNet's val is stored as test
        # classical views work at the dataset's native image side (8 px for digits)
        if backbone is None:
            size = (first.info or {}).get("image_size")
            backbone = create_backbone(model, weights=weights, feature=feature, image_size=size)
        if backbone.module is None:
            dev = resolve_device("cpu")  # classical views run in NumPy/scikit-image on the host
        run_precision = compute_precision(dev, precision, backbone.module is not None)
        plan = []
        for split_name in splits:
            data = first if split_name == splits[0] else load(split_name)
            path = store_path(
                root_path, store_dataset_name(dataset), split_name, backbone.name, fmt
            )
            attrs = store_attrs(backbone, data, dataset, split_name, run_precision, dev, options)
            n_rows = len(data.dataset)
            done = not overwrite and dist_.on_main(
                ranks,
                functools.partial(
                    complete_as_asked, path, attrs, n_rows, dtype, backbone.dim, chunk_rows
                ),
            )
            plan.append(_Split(split_name, data, path, attrs, n_rows, done))
        paths = [p.path for p in plan]
        if all(p.done for p in plan) and not repair:
            if ranks.is_main:
                logger.info(
                    "nothing to do: %s already complete (--overwrite embeds again, --repair "
                    "re-embeds damaged chunks)",
                    ", ".join(str(path) for path in paths),
                )
            return paths
        backbone.to(dev)
        for p in plan:
            if p.done and not repair:
                if ranks.is_main:
                    logger.info("skip %s: already complete (--overwrite to redo it)", p.path)
                continue
            settings = _Filling(dtype, chunk_rows, batch_size, workers, overwrite, run_precision)
            _embed_split(p, backbone, dev, settings, ranks, reporter)
        return paths
    finally:
        dist_.stop(joined)


@dataclass(frozen=True)
class _Split:
    """One split of a request: its samples, its store and whether that is complete already."""

    split: str
    data: Any
    path: Path
    attrs: dict[str, Any]
    n_rows: int
    done: bool


@dataclass(frozen=True)
class _Filling:
    """How a store is filled: stored dtype, chunking, batches, workers, autocast."""

    dtype: StoreDtype
    chunk_rows: int | None
    batch_size: int
    workers: int
    overwrite: bool
    precision: EmbedPrecision


def _checked_options(
    fmt: StoreFormat | str,
    dtype: StoreDtype | str,
    feature: FeatureKind | str,
    precision: EmbedPrecision | str,
    batch_size: int,
    workers: int,
    chunk_rows: int | None,
    repair: bool,
    overwrite: bool,
) -> tuple[StoreFormat, StoreDtype, FeatureKind, EmbedPrecision]:
    """The fixed choices as members; a request that no data could make right is refused."""
    fmt = check_format(fmt)
    if batch_size < 1 or workers < 0 or (chunk_rows is not None and chunk_rows < 1):
        raise HumeError(
            f"{setting('batch_size')} and {setting('chunk_rows')} must be ≥ 1 and "
            f"{setting('workers')} ≥ 0"
        )
    if repair and overwrite:
        raise HumeError(
            f"{setting('repair')} and {setting('overwrite')} exclude each other: "
            f"{setting('repair')} embeds the damaged chunks again, {setting('overwrite')} the "
            "whole store"
        )
    if dist_.ranks_from_env().distributed and fmt != StoreFormat.zarr:
        raise HumeError(
            f"{fmt} stores allow one writer only: run one process, or use "
            f"{setting('fmt', 'zarr')} for several processes"
        )
    return (
        fmt,
        choose(StoreDtype, dtype, "dtype"),
        choose(FeatureKind, feature, "feature"),
        choose(EmbedPrecision, precision, "precision"),
    )


def _embed_split(
    p: _Split,
    backbone: Backbone,
    dev: Any,
    how: _Filling,
    ranks: dist_.Ranks,
    reporter: Reporter,
) -> None:
    """One split's store made ready under its lock (rank 0), then filled by every rank."""
    lock = store_lock(p.path)

    def prepare() -> Target:
        lock.acquire()
        return prepare_store(
            p.path,
            p.n_rows,
            backbone.dim,
            dtype=how.dtype,
            chunk_rows=how.chunk_rows,
            batch_size=how.batch_size,
            attrs=p.attrs,
            labels_fn=lambda: labels_of(p.data, p.n_rows),
            overwrite=how.overwrite,
            paths=getattr(p.data, "paths", None),
            reporter=reporter,
        )

    with disk_errors(
        f"embedding {p.split} into",
        p.path,
        functools.partial(bytes_to_write, p.path, p.n_rows, backbone.dim, how.dtype.value),
        "run the same `hume embed` again (it resumes)",
    ):
        try:
            target = dist_.on_main(ranks, prepare)
            fill_target(
                target,
                p.data,
                backbone,
                dev,
                how.precision,
                how.batch_size,
                how.workers,
                ranks,
                reporter,
            )
        finally:
            lock.release()  # held on rank 0 only
