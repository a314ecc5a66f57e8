"""Fixed choices (store format, precision, …) are str-Enums: the command line lists and checks
them, and the library takes a member or its plain string (``"zarr" == StoreFormat.zarr``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from hume.core.errors import HumeError

C = TypeVar("C", bound=StrEnum)


def choose(choices: type[C], value: Any, what: str) -> C:
    """``value`` as a member of ``choices``, else :class:`HumeError` naming the valid ones."""
    try:
        return choices(value)
    except ValueError as exc:
        valid = ", ".join(c.value for c in choices)
        raise HumeError(f"unknown {what} {value!r}: use one of {valid}") from exc
