"""Names shared by every stage: the alias table, and the rules for names that become paths."""

from __future__ import annotations

from hume.core.errors import HumeError

#: kind -> {alias: canonical name}. Aliases are matched case-blind. A model alias also names the
#: store (``dinov2-g`` writes the ``dinov2`` store: same weights, same features).
ALIASES: dict[str, dict[str, str]] = {
    "model": {"dino": "dinov2", "dinov2-g": "dinov2", "clip-l14": "clip"},
    "dataset": {
        "cifar-10": "cifar10",
        "cifar-100": "cifar100",
        "cifar20": "cifar100-20",
        "cifar-100-20": "cifar100-20",
        "cifar100_20": "cifar100-20",
        "stl-10": "stl10",
        "ilsvrc2012": "imagenet",
        "imagenet1k": "imagenet",
        "imagenet-1k": "imagenet",
        "imagenet1000": "imagenet",
    },
}

SPLITS = ("train", "test", "all")


def canonical(kind: str, name: str) -> str:
    """The canonical ``kind`` name an alias stands for; other names come back unchanged."""
    return ALIASES[kind].get(name.strip().lower(), name)


def canonical_model(name: str) -> str:
    """Resolve a model alias (``dino`` -> ``dinov2``); other names come back unchanged."""
    return canonical("model", name)


def canonical_dataset(name: str) -> str:
    """Resolve a dataset alias (``CIFAR20`` -> ``cifar100-20``); other names come back unchanged."""
    return canonical("dataset", name)


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


def safe_name(kind: str, text: str) -> str:
    """``text`` made into a safe ``kind`` name: every character other than letters, digits and
    ``-_.+`` becomes ``-``, runs of dots shrink to one, and no dot leads or trails.

    Store names derived from a hub repo (``hf:org/repo``) or a folder (``imagefolder:/x/my pets``)
    go through here, so they are one path component whatever the user typed.
    """
    cleaned = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in text).strip(".")
    while ".." in cleaned:
        cleaned = cleaned.replace("..", ".")
    return check_name(kind, cleaned)
