"""The embed stage's settings and constants: the autocast precision, the size of a store chunk,
what makes two embeddings of a split the same (a store asked for again with them is complete),
the options a store records of how it was made, and the test hook's variable."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hume.core.fixed_choices import choose


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


#: what of a store's ``embed_options`` makes its features what they are (another dataset embedded
#: with them lands in the same feature space)
SAME_SPACE = ("model", "batch_size", "precision", "weights", "feature", "dtype")


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
