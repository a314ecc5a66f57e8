"""Backbones: one short name -> a frozen feature extractor with its own preprocessing.

``create_backbone(name)`` is the one factory; ``list_backbones("dinov2*")`` lists registered
names (aliases such as ``dino`` resolve through :data:`hume.core.names.ALIASES`), and
``backbone_patterns()`` the prefixed families. The families register themselves here:

* :mod:`~hume.embed.backbones.openclip`: ``clip``, ``clip-b32``, ``clip-b16``, ``clip-h14``,
  ``open_clip:ARCH/TAG``, ``open_clip:hf-hub:REPO``;
* :mod:`~hume.embed.backbones.hf`: ``dinov2``, ``dinov2-s|-b|-l``, ``hf:REPO``;
* :mod:`~hume.embed.backbones.classical`: ``pixels``, ``hog`` (training-free).

With no weights reachable a loader raises :class:`~hume.core.errors.HumeError` saying what to
download and where to put it (:mod:`~hume.embed.backbones.hub`), without waiting on retries.
"""

from hume.embed.backbones import classical, hf, openclip  # noqa: F401 - they register themselves
from hume.embed.backbones.backbone import Backbone, FeatureKind
from hume.embed.backbones.backbone_registry import (
    backbone_patterns,
    create_backbone,
    list_backbones,
    register_backbone,
    register_backbone_prefix,
)

__all__ = [
    "Backbone",
    "FeatureKind",
    "backbone_patterns",
    "create_backbone",
    "list_backbones",
    "register_backbone",
    "register_backbone_prefix",
]
