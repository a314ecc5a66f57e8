"""Names shared by every stage: model aliases and the rule for safe names."""

from __future__ import annotations

from hume.errors import HumeError

#: Short names that resolve to a canonical model (and store) name.
MODEL_ALIASES: dict[str, str] = {"dino": "dinov2", "dinov2-g": "dinov2", "clip-l14": "clip"}

SPLITS = ("train", "test", "all")


def canonical_model(name: str) -> str:
    """Resolve an alias (``dino`` -> ``dinov2``); other names come back unchanged."""
    return MODEL_ALIASES.get(name, name)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is safe as one path component, else raise :class:`HumeError`.

    Dataset, split, model and run names become directory or file names: no path separators,
    no ``..``, nothing empty or hidden.
    """
    if not isinstance(name, str) or not name.strip():
        raise HumeError(f"{kind} name is empty: give a non-empty name")
    if "/" in name or "\\" in name or ".." in name or name.startswith(".") or "\x00" in name:
        raise HumeError(
            f"{kind} name {name!r} is not allowed: it must not contain '/', '\\' or '..' "
            "or start with '.'"
        )
    return name
