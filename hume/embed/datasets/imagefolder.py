"""``imagefolder:PATH``: every image under a folder, at any depth, as one dataset.

Rows are the image files under PATH (recursively; hidden files and folders are left out), in the
order of their paths relative to PATH, sorted. A file that is not an image (by its extension) or
an image that cannot be decoded is skipped, and every skip is counted in one logged line and in
the split's ``info["skipped"]`` (the store keeps it). Each row's path relative to PATH is kept
(``DatasetSplit.paths``), so every later output can name the file.

Labels: when every image sits inside a first-level sub-folder, those folders are the classes
(sorted names; ``cat/2019/x.jpg`` is a ``cat``). Otherwise (images at the top level, or no
sub-folders) every label is −1, unknown, and ``info["labels"]`` says so.

Splits: ``train`` and ``test`` when PATH holds just ``train/`` and ``test/`` (or ``val/``) folders
and ``train/`` has sub-folders; otherwise the whole folder is the split ``all``. The store name is
the folder's own name, made safe (``my pets`` -> ``my-pets``).

Decoding every image to check it costs time on large folders, so verdicts are cached in
``<data_dir>/imagefolder-scans/`` by file size and modification time: a second embedding of the
same folder (another backbone) checks only what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.core.files import write_json
from hume.core.names import safe_name
from hume.core.reporting import logger
from hume.embed.datasets.dataset_registry import register_dataset_prefix
from hume.embed.datasets.dataset_split import DatasetSplit

#: File name endings of the images a folder may hold (torchvision's ImageFolder's list).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
#: Above this many files, the scan says how far it has come every so many files.
SCAN_REPORT_EVERY = 20_000


def _root(spec: str) -> Path:
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise HumeError(f"image folder {root} does not exist: give a folder of images")
    return root.resolve()


def _visible_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def has_class_dirs(path: Path) -> bool:
    """True when ``path`` is a folder holding at least one visible sub-folder."""
    return path.is_dir() and bool(_visible_dirs(path))


def layout(root: Path) -> dict[str, Path]:
    """split -> folder: ``train``/``test`` (or ``val``) folders, else the whole folder as ``all``."""
    subdirs = {p.name for p in _visible_dirs(root)}
    test = "test" if "test" in subdirs else "val" if "val" in subdirs else None
    loose = any(p.is_file() and not p.name.startswith(".") for p in root.iterdir())
    if (
        test
        and "train" in subdirs
        and subdirs <= {"train", "test", "val"}
        and not loose
        and has_class_dirs(root / "train")
    ):
        return {"train": root / "train", "test": root / test}
    return {"all": root}


def store_name(spec: str) -> str:
    """The folder's own name (resolved, so ``.`` names the current folder), made safe."""
    folder = Path(spec).expanduser()
    base = folder.resolve().name if folder.exists() else folder.name
    return safe_name("dataset", base.strip(".") or "imagefolder")


def walk_files(folder: Path) -> list[Path]:
    """Every visible file under ``folder``, at any depth, sorted by its relative path."""
    out: list[Path] = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(here) / f for f in files if not f.startswith("."))
    return sorted(out, key=lambda p: p.relative_to(folder).as_posix())


def has_image_files(folder: Path) -> bool:
    """Whether any visible file under ``folder`` has an image's suffix (decoding is not tried:
    a quick look before the scan)."""
    for _here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in files if not f.startswith(".")):
            return True
    return False


def check_image(path: Path) -> str | None:
    """None when ``path`` decodes as an image, else why not (one short phrase).

    JPEGs are decoded at a reduced scale (``draft``), which still reads the whole stream and so
    finds truncated files, at a fraction of the cost of a full decode.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.draft("RGB", (64, 64))
            img.load()
    except Exception as exc:  # any failure to decode makes the file unusable
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return text[:120]
    return None


@dataclass
class Scan:
    """The images of a folder: usable ones (relative paths, sorted) and what was skipped."""

    images: list[str] = field(default_factory=list)
    not_images: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    def summary(self, where: Path) -> str | None:
        """One line on what was skipped, or None when nothing was."""
        if not self.not_images and not self.unreadable:
            return None
        parts = []
        if self.not_images:
            parts.append(f"{len(self.not_images)} not an image ({_examples(self.not_images)})")
        if self.unreadable:
            shown = _examples(f"{p}: {why}" for p, why in self.unreadable)
            parts.append(f"{len(self.unreadable)} unreadable ({shown})")
        total = len(self.images) + len(self.not_images) + len(self.unreadable)
        return f"skipped {total - len(self.images)} of {total} files under {where}: " + "; ".join(
            parts
        )

    def as_info(self) -> dict[str, Any]:
        """What the store keeps of the scan: counts and the skipped files (at most 100 each)."""
        return {
            "n_images": len(self.images),
            "n_not_images": len(self.not_images),
            "n_unreadable": len(self.unreadable),
            "not_images": self.not_images[:100],
            "unreadable": [list(u) for u in self.unreadable[:100]],
        }


def _examples(items: Iterable[str], most: int = 3) -> str:
    items = list(items)
    more = f", … {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def scan_folder(folder: Path, root: Path, cache_dir: Path | None = None) -> Scan:
    """Sort the files under ``folder`` into images (paths relative to ``root``), non-images and
    unreadable images. Verdicts are cached in ``cache_dir`` by (size, mtime) of each file."""
    files = walk_files(folder)
    cache_path, cache = _load_cache(cache_dir, folder)
    scan = Scan()
    to_check: list[tuple[int, Path, str, list[int]]] = []
    verdicts: dict[str, str | None] = {}
    for i, path in enumerate(files):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            verdicts[rel] = "not an image"
            continue
        try:
            st = path.stat()
            key = [st.st_size, st.st_mtime_ns]
        except OSError as exc:  # a broken link, or the file vanished
            verdicts[rel] = exc.strerror or type(exc).__name__
            continue
        hit = cache.get(rel)
        if hit is not None and hit[:2] == key:
            verdicts[rel] = hit[2]
        else:
            to_check.append((i, path, rel, key))
    if to_check:
        if len(to_check) >= SCAN_REPORT_EVERY:
            logger.info(
                "checking %d images under %s (once: verdicts are cached)", len(to_check), folder
            )
        workers = min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:  # PIL decodes without holding the GIL
            for n, ((_, _, rel, key), why) in enumerate(
                zip(to_check, pool.map(lambda item: check_image(item[1]), to_check)), 1
            ):
                verdicts[rel] = why
                cache[rel] = [*key, why]
                if n % SCAN_REPORT_EVERY == 0:
                    logger.info("checked %d of %d images", n, len(to_check))
        _save_cache(cache_path, folder, cache, verdicts)
    for path in files:
        rel = path.relative_to(root).as_posix()
        why = verdicts[rel]
        if why is None:
            scan.images.append(rel)
        elif why == "not an image":
            scan.not_images.append(rel)
        else:
            scan.unreadable.append((rel, why))
    return scan


def _load_cache(cache_dir: Path | None, folder: Path) -> tuple[Path | None, dict[str, list]]:
    if cache_dir is None:
        return None, {}
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    path = cache_dir / "imagefolder-scans" / f"{safe_name('dataset', folder.name)}-{digest}.json"
    try:
        data = json.loads(path.read_text())
        return path, dict(data.get("files", {})) if data.get("folder") == str(folder) else {}
    except (OSError, ValueError):
        return path, {}


def _save_cache(
    path: Path | None, folder: Path, cache: dict[str, list], seen: dict[str, Any]
) -> None:
    if path is None:
        return
    kept = {k: v for k, v in cache.items() if k in seen}  # forget files that are gone
    try:  # a cache that cannot be written only costs time next time
        write_json(path, {"folder": str(folder), "files": kept})
    except OSError:
        pass


def row_digest(paths: list[str]) -> str:
    """A fingerprint of a split's rows (their paths in order): a store resumes only the same rows."""
    h = hashlib.sha1()
    for p in paths:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


class FolderImages:
    """``dataset[i]`` is ``(PIL image, label)`` of the i-th usable image under ``root``."""

    def __init__(self, root: Path, paths: list[str], labels: np.ndarray):
        self.root, self.paths, self.targets = root, paths, labels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        from PIL import Image

        path = self.root / self.paths[i]
        try:
            with Image.open(path) as img:
                return img.convert("RGB"), int(self.targets[i])
        except Exception as exc:  # it decoded when the folder was scanned: it changed since
            # not chained: in a DataLoader worker the whole traceback becomes the message
            raise HumeError(
                f"image {path} cannot be read any more ({str(exc).splitlines()[0][:120]}): "
                "restore or remove it and run the same command again (finished chunks are kept)"
            ) from None


def _first_level_classes(paths: list[str], prefix_parts: int) -> list[str] | None:
    """Sorted class names when every image sits in a first-level sub-folder, else None."""
    names = set()
    for p in paths:
        parts = p.split("/")[prefix_parts:]
        if len(parts) < 2:
            return None  # an image at the top level: the sub-folders are no classes
        names.add(parts[0])
    return sorted(names) or None


@register_dataset_prefix(
    "imagefolder:",
    pattern="imagefolder:PATH",
    example="imagefolder:/data/photos",
    splits=lambda spec: list(layout(_root(spec))),
    store_name=store_name,
)
def imagefolder(spec: str, split: str, data_dir: Path, *, download: bool = False) -> DatasetSplit:
    root = _root(spec)
    folders = layout(root)
    scans = {s: scan_folder(f, root, data_dir) for s, f in folders.items()}
    scan = scans[split]
    if not scan.images:
        raise HumeError(
            f"no images in {folders[split]}: it needs image files ({', '.join(IMAGE_SUFFIXES)}) "
            "at any depth"
            + (f" ({scan.summary(folders[split])})" if scan.summary(folders[split]) else "")
        )
    skipped = scan.summary(folders[split])
    if skipped:
        logger.info(skipped)
    # classes come from every split, so a label means the same in each
    depth = 0 if split == "all" else 1  # train/test paths start with their split folder
    per_split = [_first_level_classes(s.images, depth) for s in scans.values()]
    classes = (
        None
        if any(c is None for c in per_split)
        else sorted({c for cs in per_split for c in cs or []})
    )
    if classes is None:
        labels = np.full(len(scan.images), -1, dtype=np.int64)
        how = "none: images lie outside class sub-folders, so every label is −1 (unknown)"
    else:
        index = {c: i for i, c in enumerate(classes)}
        labels = np.asarray([index[p.split("/")[depth]] for p in scan.images], dtype=np.int64)
        how = "index of the first-level folder name, folders sorted"
    info = {
        "source": "imagefolder",
        "root": str(root),
        "folder": str(folders[split]),
        "image_size": None,
        "labels": how,
        "row_ids": "paths: each row's file, relative to root",
        "rows_digest": row_digest(scan.images),
        "skipped": scan.as_info(),
    }
    return DatasetSplit(
        name=store_name(spec),
        split=split,
        dataset=FolderImages(root, scan.images, labels),
        num_classes=len(classes) if classes else None,
        classes=classes,
        info=info,
        labels=labels,
        paths=scan.images,
    )
