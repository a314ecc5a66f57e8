"""`hume demo`: the whole pipeline offline, on data that ships with scikit-learn."""

from __future__ import annotations

from hume.errors import NotBuiltError


def run_demo(root: str | None = None, device: str = "auto") -> None:
    raise NotBuiltError(
        "the demo needs the embed, search and evaluate stages, which are not built yet "
        "(first missing: embed)"
    )
