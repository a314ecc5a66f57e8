"""Installed library versions, recorded in stores so a result says what produced it."""

from __future__ import annotations

from importlib import metadata


def library_versions(*names: str) -> dict[str, str]:
    """``{distribution: version}`` for the installed ones among ``names``, read from package
    metadata (nothing is imported); names that are not installed are left out."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
