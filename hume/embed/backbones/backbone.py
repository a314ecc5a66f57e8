"""What every backbone family builds: a :class:`Backbone`, and the pieces the families share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FeatureKind(StrEnum):
    """Which output of a backbone becomes the feature."""

    cls = "cls"  # the pooled output (DINOv2: the layer-normed CLS token; CLIP: the image embedding)
    cls_mean = (
        "cls+mean"  # CLS ⊕ mean patch token (transformers ViTs; the DINOv2 linear-eval feature)
    )


@dataclass
class Backbone:
    """A frozen feature extractor.

    ``transform`` maps one dataset sample to a tensor; a batch of those (stacked, on the module's
    device) goes through :meth:`encode` to a (B, D) float32 tensor. ``info`` holds the store
    attributes (model, weights, feature_kind, preprocessing, source, versions).
    """

    name: str
    transform: Callable
    dim: int
    info: dict
    module: Any = None  # torch.nn.Module in eval mode; None for classical views
    forward: Callable | None = field(default=None, repr=False)  # (module, batch) -> (B, ...)

    def encode(self, batch):
        """(B, ...) tensor -> (B, D) float32 features, without autograd."""
        import torch

        if self.module is None:
            return batch.reshape(batch.shape[0], -1).float()
        with torch.no_grad():
            out = self.forward(self.module, batch)
        return out.reshape(out.shape[0], -1).float()

    def to(self, device) -> Backbone:
        """Move the module (if any) to ``device``; returns self."""
        if self.module is not None:
            self.module.to(device)
        return self

    @property
    def device(self):
        """Device of the module's parameters (cpu for classical views)."""
        import torch

        if self.module is None:
            return torch.device("cpu")
        return next(self.module.parameters()).device


class ToRGB:
    """PIL image or array -> RGB PIL image (grey digits, RGBA and palette images included)."""

    def __call__(self, sample):
        import numpy as np
        from PIL import Image

        if not isinstance(sample, Image.Image):
            arr = np.asarray(sample)
            if arr.dtype != np.uint8:
                scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
                arr = np.clip(arr * scale, 0, 255).round().astype(np.uint8)
            sample = Image.fromarray(arr)
        return sample if sample.mode == "RGB" else sample.convert("RGB")

    def __repr__(self) -> str:
        return "ToRGB()"


def probe_dim(module, forward: Callable, image_size) -> int:
    """Feature width of ``forward(module, ·)``, from one blank image of side ``image_size``."""
    import torch

    side = image_size[0] if isinstance(image_size, (tuple, list)) else int(image_size)
    with torch.no_grad():
        out = forward(module, torch.zeros(1, 3, side, side))
    return int(out.reshape(1, -1).shape[1])
