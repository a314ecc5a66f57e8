"""Computing a store's missing chunks: batches that never straddle a chunk (a chunk's features
then do not depend on which run, rank or resume computed it), the backbone over them, and each
chunk written as soon as it is done, so that host memory holds one chunk at a time."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from typing import Any

from hume.core.faults import fault_point, maybe_fault
from hume.embed.embed_settings import FAULT_ENV


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
