"""The backbone registry: names and name prefixes -> builders; :func:`create_backbone` builds one.

A family module registers what it builds with :func:`register_backbone` (one name) or
:func:`register_backbone_prefix` (``hf:REPO``-style names), and says which features it gives and
whether it takes ``weights``; :func:`create_backbone` checks those before building, so every
family refuses a bad option with the same message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hume.core.errors import HumeError, setting
from hume.core.fixed_choices import choose
from hume.embed.backbones.backbone import Backbone, FeatureKind
from hume.embed.name_registry import Registry


class Builder(Protocol):
    """Builds a backbone in eval mode on the CPU. ``spec``: the registered name, or what follows
    the prefix (``facebook/dinov2-small`` of ``hf:facebook/dinov2-small``)."""

    def __call__(
        self, spec: str, *, weights: Path | None, feature: FeatureKind, image_size: int | None
    ) -> Backbone: ...


@dataclass(frozen=True)
class BackboneEntry:
    build: Builder
    features: tuple[FeatureKind, ...]
    takes_weights: bool


_BACKBONES: Registry[BackboneEntry] = Registry("model")


def register_backbone(
    name: str, *, features: Iterable[FeatureKind] = (FeatureKind.cls,), takes_weights: bool = True
) -> Callable[[Builder], Builder]:
    """Decorator: ``build`` makes the backbone called ``name`` (lower case)."""

    def decorate(build: Builder) -> Builder:
        _BACKBONES.add(name, BackboneEntry(build, tuple(features), takes_weights))
        return build

    return decorate


def register_backbone_prefix(
    prefix: str,
    *,
    pattern: str,
    example: str,
    features: Iterable[FeatureKind] = (FeatureKind.cls,),
    takes_weights: bool = True,
) -> Callable[[Builder], Builder]:
    """Decorator: ``build`` makes every backbone whose name starts with ``prefix``; ``pattern``
    (``hf:REPO``) and ``example`` show users how such names are written."""

    def decorate(build: Builder) -> Builder:
        _BACKBONES.add_prefix(
            prefix,
            BackboneEntry(build, tuple(features), takes_weights),
            pattern=pattern,
            example=example,
        )
        return build

    return decorate


def list_backbones(pattern: str = "*") -> list[str]:
    """Registered backbone names matching the shell-style ``pattern``, sorted (aliases such as
    ``dino`` and prefixed names such as ``hf:REPO`` are not listed; see :func:`backbone_patterns`)."""
    return _BACKBONES.names(pattern)


def backbone_patterns() -> list[str]:
    """How prefixed backbone names are written: ``open_clip:ARCH/TAG``, ``hf:REPO``, …"""
    return _BACKBONES.patterns()


def create_backbone(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    feature: FeatureKind | str = FeatureKind.cls,
    image_size: int | None = None,
) -> Backbone:
    """Build backbone ``name`` in eval mode on the CPU.

    ``weights``: a local checkpoint file or directory instead of the hub cache. ``feature``:
    ``cls`` or ``cls+mean`` (transformers ViTs only). ``image_size``: working side of the
    classical views (default 32; pass a dataset's native side, e.g. 8 for digits). Unknown names
    and options a backbone does not have raise :class:`HumeError`.
    """
    found = _BACKBONES.lookup(name)
    entry = found.entry
    feature = choose(FeatureKind, feature, "feature")
    if feature not in entry.features:
        having = ", ".join(_BACKBONES.where(lambda e: feature in e.features))
        raise HumeError(
            f"model {found.name!r} gives only the "
            f"{' or '.join(entry.features)} feature; feature={feature.value!r} is "
            f"for {having}"
        )
    path = _check_weights(weights)
    if path is not None and not entry.takes_weights:
        raise HumeError(
            f"model {found.name!r} is training-free and takes no weights; drop {setting('weights')}"
        )
    return entry.build(found.spec, weights=path, feature=feature, image_size=image_size)


def _check_weights(weights: str | os.PathLike | None) -> Path | None:
    if weights is None:
        return None
    path = Path(weights).expanduser()
    if not path.exists():
        raise HumeError(
            f"weights path {str(weights)!r} does not exist: give a checkpoint file or a "
            "model directory"
        )
    return path.resolve()
