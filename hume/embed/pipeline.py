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

import contextlib
import functools
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from hume.core import distributed as dist_
from hume.core.devices import resolve_device
from hume.core.disk_errors import disk_errors
from hume.core.distributed import Ranks
from hume.core.errors import HumeError
from hume.core.faults import fault_point, maybe_fault
from hume.core.fixed_choices import choose
from hume.core.locks import ExclusiveLock
from hume.core.reporting import SILENT, Reporter, logger
from hume.core.versions import library_versions
from hume.embed.backbones import Backbone, FeatureKind, create_backbone
from hume.embed.datasets import get_dataset, requested_splits, store_dataset_name
from hume.store import (
    FeatureStore,
    StoreDtype,
    StoreFormat,
    bytes_to_write,
    check_format,
    create_store,
    open_store,
    remove_leftovers,
    resolve_root,
    store_lock,
    store_path,
)
from hume.store.checksums import Damage
from hume.store.verification import verify_store


class EmbedPrecision(StrEnum):
    """What the backbone computes in on a GPU: fp32, or fp16/bf16 autocast. The CPU and the
    classical views always run fp32."""

    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


TARGET_CHUNK_ROWS = 1024

#: Attributes that must agree for an unfinished store to be resumed (else its rows would mix).
IDENTITY_KEYS = (
    "dataset",
    "split",
    "model",
    "weights",
    "feature_kind",
    "preprocessing",
    "dtype",
    "n_rows",
    "dim",
    "precision",
    "rows_digest",  # image folders: the same files in the same order
)

#: Test hook (never set by users; :mod:`hume.core.faults`): ``kill:K`` SIGKILLs this process once it
#: has written K chunks, ``kill-before-flag:K`` once the K-th chunk's rows are written but not yet
#: its checksum and flag, ``pause:K`` sleeps after K chunks until a signal arrives. Lets tests
#: interrupt a run at a known point.
FAULT_ENV = "HUME_EMBED_FAULT"

#: Store attribute: the `hume embed` options that made the store (how `hume verify --repair`
#: embeds its damaged chunks again).
OPTIONS_ATTR = "embed_options"


# -- options -----------------------------------------------------------------------------------
def compute_precision(
    device: Any, precision: EmbedPrecision | str, has_module: bool
) -> EmbedPrecision:
    """What actually runs: autocast fp16/bf16 on a GPU, fp32 on CPU and for classical views."""
    precision = choose(EmbedPrecision, precision, "precision")
    if device.type != "cuda" or not has_module:
        return EmbedPrecision.fp32
    return precision


def default_chunk_rows(batch_size: int, n_rows: int) -> int:
    """About 1024 rows, a whole number of batches (no short batch inside a chunk), at most N."""
    rows = batch_size * max(1, round(TARGET_CHUNK_ROWS / batch_size))
    return max(1, min(rows, n_rows))


# -- which rows go into which batch -------------------------------------------------------------
class ChunkBatches:
    """Batch sampler over whole chunks: the batches of chunk ``c`` cover rows
    ``[c * chunk_rows, min((c + 1) * chunk_rows, n_rows))`` in order and never cross into another
    chunk. Used as ``DataLoader(batch_sampler=...)`` over the full dataset: only these rows load.
    """

    def __init__(self, chunks: Sequence[int], chunk_rows: int, n_rows: int, batch_size: int):
        self.bounds = [(c * chunk_rows, min((c + 1) * chunk_rows, n_rows)) for c in chunks]
        self.batch_size = batch_size

    def batches_per_chunk(self) -> list[int]:
        return [-(-(stop - start) // self.batch_size) for start, stop in self.bounds]

    def __iter__(self) -> Iterator[list[int]]:
        for start, stop in self.bounds:
            for s in range(start, stop, self.batch_size):
                yield list(range(s, min(s + self.batch_size, stop)))

    def __len__(self) -> int:
        return sum(self.batches_per_chunk())


class Transformed:
    """``dataset[i] -> (transform(sample), label)``: the backbone's own preprocessing."""

    def __init__(self, dataset: Any, transform: Any):
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        sample, label = self.dataset[i]
        return self.transform(sample), label


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


def _labels_of(data: Any, n_rows: int) -> np.ndarray:
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
            f"({'; '.join(diff)}): pass --overwrite to embed it again with these"
        )
    raise HumeError(
        f"the unfinished store {store.path} was started with other settings "
        f"({'; '.join(diff)}): run it again with its settings to finish it, or pass "
        "--overwrite to start over"
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


# -- computing chunks --------------------------------------------------------------------------
class ChunkWriter:
    """Writes finished chunks from a background thread while the device computes the next ones.

    ``put`` blocks while one chunk already waits, so host memory holds at most three chunks (one
    being written, one waiting, one being filled). On CUDA a chunk arrives as a pinned host tensor
    with the event of its device->host copy; the thread waits for that event, not the caller.
    A failure in the thread is raised in the caller at the next ``put`` or at ``close``.
    """

    def __init__(self, store: Any):
        import queue
        import threading

        self.store = store
        self.written = 0
        self.error: BaseException | None = None
        self._fault = fault_point(FAULT_ENV)
        self._queue: Any = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="hume-chunk-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain after a failure; the caller raises it
            chunk, feats, ready = item
            try:
                if ready is not None:
                    ready.synchronize()
                n = self.written + 1
                hook = functools.partial(maybe_fault, self._fault, n, "-before-flag")
                self.store.write_chunk(chunk, feats.numpy(), hook)
                self.written += 1
                maybe_fault(self._fault, self.written)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, chunk: int, feats: Any, ready: Any = None) -> None:
        self._check()
        self._queue.put((chunk, feats, ready))

    def close(self) -> None:
        """Wait for every queued chunk to be written; raise the thread's failure if any."""
        self._queue.put(None)
        self._thread.join()
        self._check()

    def abandon(self) -> None:
        """On an interrupt: stop without waiting. Chunks not flagged done are redone on resume."""
        self.error = self.error or RuntimeError("abandoned")
        try:
            self._queue.put_nowait(None)
        except Exception:  # noqa: BLE001 - queue full: the daemon thread dies with the process
            pass


def compute_chunks(
    store: Any,
    chunks: Sequence[int],
    data: Any,
    backbone: Any,
    device: Any,
    precision: str,
    batch_size: int,
    workers: int,
    on_rows: Any = None,
) -> int:
    """Encode the rows of ``chunks`` and write each chunk once its last batch is done.

    ``data[i] -> (input tensor, label)``. A chunk's features are gathered on the device and copied
    to the host once (asynchronously on CUDA), then written by a :class:`ChunkWriter` thread.
    Returns the number of rows computed.
    """
    import torch
    from torch.utils.data import DataLoader

    sampler = ChunkBatches(chunks, store.chunk_rows, store.n_rows, batch_size)
    if not len(sampler):
        return 0
    on_gpu = device.type == "cuda"
    # more workers than cores only adds processes (and a DataLoader warning)
    workers = min(workers, os.cpu_count() or 1)
    loader = DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=on_gpu,
        persistent_workers=False,
    )
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    autocast = (
        torch.autocast(device_type="cuda", dtype=amp_dtype)
        if on_gpu and amp_dtype is not None
        else contextlib.nullcontext()
    )
    batches = iter(loader)
    writer = ChunkWriter(store)
    rows = 0
    try:
        for chunk, n_batches in zip(chunks, sampler.batches_per_chunk()):
            parts = []
            for _ in range(n_batches):
                x, _labels = next(batches)
                with torch.inference_mode(), autocast:
                    out = backbone.encode(x.to(device, non_blocking=True))
                parts.append(out.float())
                if on_rows is not None and not on_gpu:
                    on_rows(len(x))
            feats = torch.cat(parts)
            if on_gpu:  # copy without a host sync; the writer waits on the event
                host = torch.empty(feats.shape, dtype=feats.dtype, pin_memory=True)
                host.copy_(feats, non_blocking=True)
                ready = torch.cuda.Event()
                ready.record()
                writer.put(chunk, host, ready)
                if on_rows is not None:
                    on_rows(len(host))
            else:
                writer.put(chunk, feats)
            rows += len(feats)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    return rows


# -- the stage ---------------------------------------------------------------------------------
def _complete_as_asked(
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


def _store_attrs(
    backbone: Backbone,
    data: Any,
    dataset: str,
    store_dataset: str,
    split: str,
    precision: EmbedPrecision,
    batch_size: int,
    device: Any,
    ranks: Ranks,
    options: dict[str, Any],
) -> dict[str, Any]:
    info = dict(backbone.info)
    versions = {**info.pop("versions", {}), **library_versions("torch", "torchvision")}
    return {
        **info,
        # the view name (as in the store path and `--views`); the backbone's own description stays
        "model": backbone.name,
        "architecture": info.get("model", backbone.name),
        "dataset": store_dataset,
        "dataset_spec": dataset,
        "split": split,
        "dataset_info": dict(getattr(data, "info", {}) or {}),
        # how a row is identified: its file (image folders) or its index in the library's dataset
        "row_ids": "paths" if getattr(data, "paths", None) is not None else "index",
        "rows_digest": (getattr(data, "info", {}) or {}).get("rows_digest"),
        "num_classes": getattr(data, "num_classes", None),
        "classes": list(getattr(data, "classes", None) or []),
        "precision": precision.value,
        "batch_size": int(batch_size),
        "device": device.type,
        "world_size": ranks.world_size,
        "versions": versions,
        OPTIONS_ATTR: {**options, "split": split},
    }


#: what of a store's ``embed_options`` makes its features what they are (another dataset embedded
#: with them lands in the same feature space)
SAME_SPACE = ("model", "batch_size", "precision", "weights", "feature", "dtype")


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
    fmt = check_format(fmt)
    dtype = choose(StoreDtype, dtype, "dtype")
    feature = choose(FeatureKind, feature, "feature")
    precision = choose(EmbedPrecision, precision, "precision")
    if batch_size < 1 or workers < 0 or (chunk_rows is not None and chunk_rows < 1):
        raise HumeError("--batch-size and --chunk-rows must be ≥ 1 and --workers ≥ 0")
    if repair and overwrite:
        raise HumeError(
            "--repair and --overwrite exclude each other: --repair embeds the damaged chunks "
            "again, --overwrite the whole store"
        )
    ranks = dist_.ranks_from_env()
    if ranks.distributed and fmt != StoreFormat.zarr:
        raise HumeError(
            f"{fmt} stores allow one writer only: run one process, or use --format zarr "
            "for several processes"
        )
    splits = requested_splits(dataset, split)
    root_path = resolve_root(root)
    data_path = Path(data_dir) if data_dir else root_path / "data"
    store_dataset = store_dataset_name(dataset)
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
            return dist_.main_first(ranks, lambda: get_dataset(dataset, split_name, data_path))

        first = load(splits[0])
        splits[0] = first.split  # an alias such as ImageNet's val is stored as test
        # classical views work at the dataset's native image side (8 px for digits)
        if backbone is None:
            backbone = create_backbone(
                model,
                weights=weights,
                feature=feature,
                image_size=(first.info or {}).get("image_size"),
            )
        if backbone.module is None:
            dev = resolve_device("cpu")  # classical views run in NumPy/scikit-image on the host
        run_precision = compute_precision(dev, precision, backbone.module is not None)
        plan = []
        for split_name in splits:
            data = first if split_name == splits[0] else load(split_name)
            path = store_path(root_path, store_dataset, split_name, backbone.name, fmt)
            attrs = _store_attrs(
                backbone,
                data,
                dataset,
                store_dataset,
                split_name,
                run_precision,
                batch_size,
                dev,
                ranks,
                options,
            )
            n_rows = len(data.dataset)
            done = not overwrite and dist_.on_main(
                ranks,
                functools.partial(
                    _complete_as_asked, path, attrs, n_rows, dtype, backbone.dim, chunk_rows
                ),
            )
            plan.append((split_name, data, path, attrs, n_rows, done))
        if all(done for *_, done in plan) and not repair:
            shown = ", ".join(str(path) for _, _, path, *_ in plan)
            if ranks.is_main:
                logger.info(
                    "nothing to do: %s already complete (--overwrite embeds again, --repair "
                    "re-embeds damaged chunks)",
                    shown,
                )
            return [path for _, _, path, *_ in plan]
        backbone.to(dev)
        for split_name, data, path, attrs, n_rows, done in plan:
            if done and not repair:
                if ranks.is_main:
                    logger.info("skip %s: already complete (--overwrite to redo it)", path)
                continue
            lock = store_lock(path)

            def prepare(
                lock: ExclusiveLock = lock,
                path: Path = path,
                data: Any = data,
                n_rows: int = n_rows,
                attrs: dict[str, Any] = attrs,
            ) -> Target:
                lock.acquire()
                return prepare_store(
                    path,
                    n_rows,
                    backbone.dim,
                    dtype=dtype,
                    chunk_rows=chunk_rows,
                    batch_size=batch_size,
                    attrs=attrs,
                    labels_fn=lambda: _labels_of(data, n_rows),
                    overwrite=overwrite,
                    paths=getattr(data, "paths", None),
                    reporter=reporter,
                )

            with disk_errors(
                f"embedding {split_name} into",
                path,
                functools.partial(bytes_to_write, path, n_rows, backbone.dim, dtype.value),
                "run the same `hume embed` again (it resumes)",
            ):
                try:
                    target = dist_.on_main(ranks, prepare)
                    _run_target(
                        target,
                        data,
                        backbone,
                        dev,
                        run_precision,
                        batch_size,
                        workers,
                        ranks,
                        reporter,
                    )
                finally:
                    lock.release()  # held on rank 0 only
        return [path for _, _, path, *_ in plan]
    finally:
        dist_.stop(joined)


def _run_target(
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
