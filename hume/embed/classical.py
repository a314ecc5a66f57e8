"""Classical (training-free, offline) views: raw pixels and HOG descriptors.

Both views work on a grayscale copy of each image resized to a fixed working size ``S x S``, so the
feature width is known before any image is seen and one store has one width:

* ``pixels``: the ``S*S`` grey values, standardised **per image** (subtract the image's mean,
  divide by its standard deviation). Per-image standardisation needs no dataset statistics, so it
  streams chunk by chunk and gives the same row whatever else is in the dataset.
* ``hog``: ``skimage.feature.hog`` of the grey image scaled to [0, 1], 9 orientations,
  ``cells_per_block=(2, 2)``, L2-Hys block normalisation. Cells are 4x4 pixels when ``S <= 16``
  (8x8 digits: 2x2 cells, one block, 36 values) and 8x8 pixels otherwise (32x32: 324 values).
  Measured on digits (5-fold logistic regression): 36-value HOG at 8x8 reaches 0.81 accuracy,
  HOG of the digits upsampled to 32x32 (``image_size=32``) 0.97, pixels at 8x8 0.92.

The default working size is 32 (CIFAR's native size); pipelines that know a dataset's native side
(``DatasetSplit.info["image_size"]``, 8 for digits) pass it as ``image_size`` so small images are
used as they are, not upsampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hume.errors import HumeError

CLASSICAL_VIEWS = ("pixels", "hog")
DEFAULT_SIZE = 32
HOG_MIN_SIZE = 32  # working size below which hog upsamples (8 px cells need room)
HOG_ORIENTATIONS = 9
HOG_CELLS_PER_BLOCK = (2, 2)


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
            raise HumeError(f"classical views need 2-D or 3-D images, got an array of shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.integer) or arr.max(initial=0) > 1.0:
            arr = arr.astype(np.float32) / 255.0
        img = Image.fromarray(np.clip(arr * 255.0, 0, 255).round().astype(np.uint8), mode="L")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def hog_cell(size: int) -> int:
    """HOG cell side in pixels for working size ``size``."""
    return 4 if size <= 16 else 8


def hog_dim(size: int) -> int:
    """Width of the HOG vector for a ``size x size`` image."""
    cells = size // hog_cell(size)
    blocks = cells - HOG_CELLS_PER_BLOCK[0] + 1
    if blocks < 1:
        raise HumeError(f"hog needs images of at least {2 * hog_cell(size)} px, got working size {size}")
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

    size: int = DEFAULT_SIZE

    def __call__(self, sample):
        import torch
        from skimage.feature import hog

        cell = hog_cell(self.size)
        h = hog(to_gray_array(sample, self.size), orientations=HOG_ORIENTATIONS,
                pixels_per_cell=(cell, cell), cells_per_block=HOG_CELLS_PER_BLOCK,
                block_norm="L2-Hys", feature_vector=True)
        return torch.from_numpy(np.asarray(h, dtype=np.float32))


def classical_spec(name: str, size: int | None) -> tuple:
    """(transform, dim, info) of classical view ``name`` at working size ``size`` (default 32)."""
    size = DEFAULT_SIZE if size is None else int(size)
    if size < 2:
        raise HumeError(f"image size for the {name} view must be at least 2, got {size}")
    if name == "pixels":
        transform, dim = PixelsTransform(size), size * size
        kind = "grey pixels, standardised per image (x - mean) / std"
        prep = f"grayscale (PIL 'L'), resize to {size}x{size} bilinear when the size differs, scale to [0, 1]"
    elif name == "hog":
        # HOG is defined on cells of 8 px (Dalal & Triggs): smaller images are upsampled to 32 px
        # first, so an 8x8 digit gets 4x4 cells of 8 px instead of 2x2 cells of 4 px.
        size = max(size, HOG_MIN_SIZE)
        transform, dim = HogTransform(size), hog_dim(size)
        cell = hog_cell(size)
        kind = (f"HOG: orientations={HOG_ORIENTATIONS}, pixels_per_cell=({cell}, {cell}), "
                f"cells_per_block={HOG_CELLS_PER_BLOCK}, block_norm=L2-Hys")
        prep = f"grayscale (PIL 'L'), resize to {size}x{size} bilinear when the size differs, scale to [0, 1]"
    else:
        raise HumeError(f"unknown classical view {name!r}: use one of {', '.join(CLASSICAL_VIEWS)}")
    info = {"model": name, "weights": "none (training-free)", "feature_kind": kind,
            "preprocessing": prep, "source": "classical", "image_size": size}
    return transform, dim, info
