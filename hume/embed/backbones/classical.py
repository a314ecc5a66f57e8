"""Classical (training-free, offline) views: raw pixels and HOG descriptors.

Both views work on a grayscale copy of each image resized to a fixed working size ``S x S``, so the
feature width is known before any image is seen and one store has one width:

* ``pixels``: the ``S*S`` grey values, standardised **per image** (subtract the image's mean,
  divide by its standard deviation). Per-image standardisation needs no dataset statistics, so it
  streams chunk by chunk and gives the same row whatever else is in the dataset.
* ``hog``: ``skimage.feature.hog`` of the grey image scaled to [0, 1], 9 orientations, cells of
  8x8 pixels, ``cells_per_block=(2, 2)``, L2-Hys block normalisation. HOG is defined on 8-pixel
  cells (Dalal & Triggs), so a working size below 32 is raised to 32 first: an 8x8 digit is
  upsampled to 32x32 and gives 4x4 cells, 3x3 blocks, 324 values (why: docs/algorithm.md §11).

The default working size is 32 (CIFAR's native size); pipelines that know a dataset's native side
(``DatasetSplit.info["image_size"]``, 8 for digits) pass it as ``image_size``, so ``pixels`` uses
small images as they are instead of upsampling them (``hog`` still works at 32 or more).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.embed.backbones.backbone import Backbone
from hume.embed.backbones.backbone_registry import register_backbone

DEFAULT_SIZE = 32
HOG_CELL = 8  # pixels per cell side
HOG_MIN_SIZE = 4 * HOG_CELL  # working sizes below this are upsampled to it
HOG_ORIENTATIONS = 9
HOG_CELLS_PER_BLOCK = (2, 2)
_GREY = "grayscale (PIL 'L'), resize to {s}x{s} bilinear when the size differs, scale to [0, 1]"


def to_gray_array(sample, size: int) -> np.ndarray:
    """A PIL image or an array (H, W) / (H, W, C) -> float32 (size, size) grey values in [0, 1].

    uint8 input is divided by 255; float input is taken as already in [0, 1].
    """
    from PIL import Image

    if isinstance(sample, Image.Image):
        img = sample.convert("L")
    else:
        arr = np.asarray(sample)
        if arr.ndim == 3:  # colour array: ITU-R 601 luma, as PIL's "L" conversion
            arr = arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float64)
        if arr.ndim != 2:
            raise HumeError(
                f"classical views need 2-D or 3-D images, got an array of shape {arr.shape}"
            )
        if np.issubdtype(arr.dtype, np.integer) or arr.max(initial=0) > 1.0:
            arr = arr.astype(np.float32) / 255.0
        img = Image.fromarray(np.clip(arr * 255.0, 0, 255).round().astype(np.uint8), mode="L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def hog_dim(size: int) -> int:
    """Width of the HOG vector of a ``size x size`` image (``size`` ≥ 32)."""
    blocks = size // HOG_CELL - HOG_CELLS_PER_BLOCK[0] + 1
    return blocks * blocks * HOG_CELLS_PER_BLOCK[0] * HOG_CELLS_PER_BLOCK[1] * HOG_ORIENTATIONS


@dataclass(frozen=True)
class PixelsTransform:
    """One image -> float32 tensor (size*size,): grey values standardised per image."""

    size: int = DEFAULT_SIZE

    def __call__(self, sample):
        import torch

        x = to_gray_array(sample, self.size).ravel()
        x = (x - x.mean()) / (x.std() + 1e-6)  # eps: a blank image maps to zeros, not NaN
        return torch.from_numpy(x.astype(np.float32))


@dataclass(frozen=True)
class HogTransform:
    """One image -> float32 tensor (hog_dim(size),): HOG descriptor of the grey image."""

    size: int = HOG_MIN_SIZE

    def __call__(self, sample):
        import torch
        from skimage.feature import hog

        h = hog(
            to_gray_array(sample, self.size),
            orientations=HOG_ORIENTATIONS,
            pixels_per_cell=(HOG_CELL, HOG_CELL),
            cells_per_block=HOG_CELLS_PER_BLOCK,
            block_norm="L2-Hys",
            feature_vector=True,
        )
        return torch.from_numpy(np.asarray(h, dtype=np.float32))


def _working_size(name: str, image_size: int | None) -> int:
    size = DEFAULT_SIZE if image_size is None else int(image_size)
    if size < 2:
        raise HumeError(f"image size for the {name} view must be at least 2, got {size}")
    return size


def _view(name: str, transform: Any, dim: int, kind: str, size: int) -> Backbone:
    info = {
        "model": name,
        "weights": "none (training-free)",
        "feature_kind": kind,
        "preprocessing": _GREY.format(s=size),
        "source": "classical",
        "image_size": size,
    }
    return Backbone(name=name, transform=transform, dim=dim, info=info)


@register_backbone("pixels", takes_weights=False)
def pixels(spec: str = "pixels", *, image_size: int | None = None, **_: Any) -> Backbone:
    """Grey pixels at working size ``image_size`` (default 32), standardised per image."""
    size = _working_size(spec, image_size)
    return _view(
        spec,
        PixelsTransform(size),
        size * size,
        "grey pixels, standardised per image (x - mean) / std",
        size,
    )


@register_backbone("hog", takes_weights=False)
def hog(spec: str = "hog", *, image_size: int | None = None, **_: Any) -> Backbone:
    """HOG at working size ``max(image_size, 32)`` (default 32), 8-pixel cells."""
    size = max(_working_size(spec, image_size), HOG_MIN_SIZE)
    kind = (
        f"HOG: orientations={HOG_ORIENTATIONS}, pixels_per_cell=({HOG_CELL}, {HOG_CELL}), "
        f"cells_per_block={HOG_CELLS_PER_BLOCK}, block_norm=L2-Hys"
    )
    return _view(spec, HogTransform(size), hog_dim(size), kind, size)
