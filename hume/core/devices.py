"""Choosing the torch device: one rule for every stage that runs on one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from hume.core.errors import HumeError, setting


def check_device_name(device: Any = "auto") -> str:
    """``device`` as a name hume knows (``auto``, ``cpu``, ``cuda``, ``cuda:N``), else raise;
    whether that device exists is :func:`resolve_device`'s question."""
    name = str(device or "auto")
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise HumeError(f"unknown device {name!r}: use auto, cpu or cuda")
    return name


def resolve_device(device: Any = "auto", local_rank: int | None = None) -> Any:
    """``auto`` → CUDA when available, else CPU; ``cpu``, ``cuda`` or ``cuda:N`` as asked.

    ``local_rank`` (several processes per node) picks that process's own GPU for ``cuda``.
    Asking for CUDA where torch sees none, or for an unknown device, raises :class:`HumeError`.
    """
    import torch

    name = check_device_name(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise HumeError(
            f"{setting('device', 'cuda')} was asked for but no CUDA GPU is visible to torch: "
            f"use {setting('device', 'cpu')} (or auto), or install a CUDA build of torch"
        )
    if name != "cuda" or local_rank is None:
        return torch.device(name)
    n_gpus = torch.cuda.device_count()
    if local_rank >= n_gpus:
        raise HumeError(
            f"local rank {local_rank} has no GPU ({n_gpus} visible): "
            f"start at most {n_gpus} processes per node"
        )
    return torch.device("cuda", local_rank)


class MatmulPrecision(str, Enum):
    """Float32 matrix products of a search: full fp32 (as the official code) or TF32."""

    fp32 = "fp32"
    tf32 = "tf32"


def check_precision(precision: str) -> str:
    """``precision`` as a plain string, or a HumeError naming the choices."""
    value = precision.value if isinstance(precision, MatmulPrecision) else str(precision)
    choices = [p.value for p in MatmulPrecision]
    if value not in choices:
        raise HumeError(f"unknown precision {value!r}: use {' or '.join(choices)}")
    return value


@contextmanager
def matmul_precision(device: Any, precision: str = "fp32") -> Iterator[None]:
    """Float32 matrix products on ``device`` inside the block: ``fp32`` in full precision, ``tf32``
    through TensorFloat-32 tensor cores (CUDA GPUs from Ampere on: several times the fp32
    throughput, inputs rounded to a 10-bit mantissa, float32 accumulation). On the CPU both are
    float32 and nothing changes. The previous setting is restored on exit."""
    import torch

    precision = check_precision(precision)
    if getattr(device, "type", str(device).split(":")[0]) != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul
    # torch ≥ 2.9 has a per-backend setting; its legacy getter raises once that is set to tf32.
    per_backend = hasattr(matmul, "fp32_precision")
    if per_backend:
        before = matmul.fp32_precision
        matmul.fp32_precision = "tf32" if precision == "tf32" else "ieee"
    else:
        before = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("high" if precision == "tf32" else "highest")
    try:
        yield
    finally:
        if per_backend:
            matmul.fp32_precision = before
        else:
            torch.set_float32_matmul_precision(before)
