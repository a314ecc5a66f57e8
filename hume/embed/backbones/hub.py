"""Reaching the Hugging Face hub: is it usable, which snapshot was loaded, and the error when
no weights can be found (what to download, where to put it)."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from hume.core.errors import WeightsUnavailable, setting


@functools.lru_cache(maxsize=1)
def offline() -> bool:
    """True when the Hugging Face hub cannot be used: HF_HUB_OFFLINE, or its host is unreachable.

    huggingface_hub retries an unreachable host for about 30 s before failing; one quick socket
    probe lets the loaders go straight to the local cache instead.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return True
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return False  # a proxy may reach what a direct socket cannot: let the hub client try
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=3).close()
    except OSError:
        return True
    return False


def cache_dir() -> str:
    """Where the hub cache lives (HF_HUB_CACHE, under HF_HOME)."""
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def snapshot_of(path: str | os.PathLike) -> str:
    """``@<commit>`` when ``path`` lies in a hub cache snapshot, else empty."""
    p = Path(path)
    return f"@{p.parent.name}" if p.parent.parent.name == "snapshots" else ""


def revision(repo: str) -> str | None:
    """Commit of the cached snapshot of ``repo`` that a transformers load used (None if unknown)."""
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo, "config.json")
    if not isinstance(hit, str):
        return None
    return snapshot_of(hit)[1:] or None


def no_weights(
    name: str, what: str, repo: str, filename: str, exc: Exception | None
) -> WeightsUnavailable:
    """The error for model ``name`` whose weights are neither cached nor downloadable; ``exc``
    is the download failure, None when the hub was not tried (offline)."""
    why = (
        "the Hugging Face hub is unreachable or offline (HF_HUB_OFFLINE)"
        if exc is None
        else f"download failed: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
    )
    fetch = (
        f"`hf download {repo}{' ' + filename if filename else ''}`" if repo else "its checkpoint"
    )
    return WeightsUnavailable(
        f"no weights for model {name!r} ({what}): {why}. On a machine with internet run {fetch} "
        f"and copy the Hugging Face cache to {cache_dir()} (or set HF_HOME), or pass "
        f"{setting('weights', 'PATH')} (a checkpoint file or model directory)"
    )
