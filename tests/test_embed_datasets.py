"""Dataset registry: row order, labels and class names on small data made here, and clear errors."""

from __future__ import annotations

import os
import pickle
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from hume.core.errors import HumeError
from hume.embed.datasets import (
    dataset_splits,
    get_dataset,
    list_datasets,
    split_choices,
    store_dataset_name,
)
from hume.embed.datasets import torchvision_sets as D


def _save(path, seed, size=(6, 7)):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def test_digits_all_and_splits(tmp_path):
    from sklearn.datasets import load_digits

    ref = load_digits()
    ds = get_dataset("digits", "all", tmp_path)
    assert (ds.name, ds.split, len(ds), ds.num_classes) == ("digits", "all", 1797, 10)
    np.testing.assert_array_equal(ds.labels, ref.target)
    img, label = ds.dataset[5]
    assert img.mode == "L" and img.size == (8, 8) and label == ref.target[5]
    np.testing.assert_array_equal(
        np.asarray(img), np.rint(ref.images[5] * 255 / 16).astype(np.uint8)
    )
    assert ds.info["image_size"] == 8
    train, test = get_dataset("digits", "train", tmp_path), get_dataset("digits", "test", tmp_path)
    assert len(train) + len(test) == 1797 and len(test) == 449
    idx = np.concatenate([train.dataset.indices, test.dataset.indices])
    assert sorted(idx.tolist()) == list(range(1797))
    np.testing.assert_array_equal(test.labels, ref.target[3::4])
    assert dataset_splits("digits") == ["all"]
    assert not list((tmp_path).iterdir())  # nothing downloaded or written


def test_imagefolder_rows_labels_and_names(tmp_path):
    root = tmp_path / "my pets"
    arrays = {}
    for cls, files in (
        ("dog", ["b.png", "a.png"]),
        ("cat", ["z.png"]),
        ("emu", ["c.png", "d.png"]),
    ):
        for f in files:
            arrays[(cls, f)] = _save(root / cls / f, seed=hash((cls, f)) % 1000)
    ds = get_dataset(f"imagefolder:{root}", "all", tmp_path / "data")
    assert ds.name == store_dataset_name(f"imagefolder:{root}") == "my-pets"
    assert ds.classes == ["cat", "dog", "emu"] and ds.num_classes == 3
    assert ds.labels.tolist() == [0, 1, 1, 2, 2]
    order = [
        ("cat", "z.png"),
        ("dog", "a.png"),
        ("dog", "b.png"),
        ("emu", "c.png"),
        ("emu", "d.png"),
    ]
    for i, key in enumerate(order):
        img, label = ds.dataset[i]
        assert label == ds.labels[i]
        np.testing.assert_array_equal(np.asarray(img), arrays[key])
    assert dataset_splits(f"imagefolder:{root}") == ["all"]


def test_imagefolder_train_test_layout_shares_class_index(tmp_path):
    root = tmp_path / "tt"
    _save(root / "train" / "a" / "0.png", 0)
    _save(root / "train" / "b" / "0.png", 1)
    _save(root / "val" / "b" / "0.png", 2)  # test lacks class 'a': 'b' must still be label 1
    name = f"imagefolder:{root}"
    assert dataset_splits(name) == ["train", "test"]
    test = get_dataset(name, "test", tmp_path)
    assert test.classes == ["a", "b"] and test.labels.tolist() == [1]
    assert get_dataset(name, "train", tmp_path).labels.tolist() == [0, 1]


def test_imagefolder_errors(tmp_path):
    with pytest.raises(HumeError, match="does not exist"):
        get_dataset(f"imagefolder:{tmp_path / 'nope'}", "all", tmp_path)
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(HumeError, match="no images"):
        get_dataset(f"imagefolder:{tmp_path / 'empty'}", "all", tmp_path)


def _fake_cifar(root, folder, files, label_key, meta_name, meta_key, names, n=6, seed=0):
    rng = np.random.default_rng(seed)
    base = root / folder
    base.mkdir(parents=True)
    out = {}
    for fname in files:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, len(names), n).tolist()
        with open(base / fname, "wb") as f:
            pickle.dump({"data": data, label_key: labels}, f)
        out[fname] = (data, labels)
    with open(base / meta_name, "wb") as f:
        pickle.dump({meta_key: names}, f)
    return out


@pytest.fixture
def no_md5(monkeypatch):
    """The fake pickles are not the real files: accept any file that exists."""
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))


def test_cifar10_reads_torchvision_layout_in_order(tmp_path, no_md5):
    names = [f"c{i}" for i in range(10)]
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    made = _fake_cifar(
        tmp_path, "cifar-10-batches-py", files, "labels", "batches.meta", "label_names", names
    )
    train = get_dataset("cifar10", "train", tmp_path, download=False)
    test = get_dataset("cifar10", "test", tmp_path, download=False)
    assert (
        len(train) == 30 and len(test) == 6 and train.classes == names and train.num_classes == 10
    )
    expected = [lab for f in files[:5] for lab in made[f][1]]
    assert train.labels.tolist() == expected
    img, label = train.dataset[7]  # row 7 = second batch, row 1
    assert label == expected[7]
    np.testing.assert_array_equal(
        np.asarray(img), made["data_batch_2"][0][1].reshape(3, 32, 32).transpose(1, 2, 0)
    )
    assert test.labels.tolist() == made["test_batch"][1]


def test_cifar100_20_uses_coarse_superclasses(tmp_path, no_md5):
    fine_names = [f"f{i}" for i in range(100)]
    made = _fake_cifar(
        tmp_path,
        "cifar-100-python",
        ["train", "test"],
        "fine_labels",
        "meta",
        "fine_label_names",
        fine_names,
        n=40,
    )
    fine = get_dataset("cifar100", "test", tmp_path, download=False)
    coarse = get_dataset("cifar20", "test", tmp_path, download=False)
    assert fine.num_classes == 100 and fine.labels.tolist() == made["test"][1]
    assert coarse.name == "cifar100-20" and coarse.num_classes == 20 and len(coarse.classes) == 20
    mapped = [D.CIFAR100_COARSE[f] for f in made["test"][1]]
    assert coarse.labels.tolist() == mapped
    assert [coarse.dataset[i][1] for i in range(len(coarse))] == mapped  # items agree with labels


def test_cifar100_coarse_mapping_shape():
    counts = Counter(D.CIFAR100_COARSE)
    assert len(D.CIFAR100_COARSE) == 100 and sorted(counts) == list(range(20))
    assert set(counts.values()) == {5}  # five fine classes per superclass
    # spot checks against the dataset's own meta: apple->fruit and vegetables, beaver->aquatic mammals
    assert D.CIFAR100_20_CLASSES[D.CIFAR100_COARSE[0]] == "fruit and vegetables"
    assert D.CIFAR100_20_CLASSES[D.CIFAR100_COARSE[4]] == "aquatic mammals"


def test_missing_downloadable_dataset_says_where(tmp_path):
    with pytest.raises(
        HumeError, match=r"cifar-10-python\.tar\.gz.*" + str(tmp_path).replace("/", ".")
    ):
        get_dataset("cifar10", "train", tmp_path, download=False)
    with pytest.raises(HumeError, match="stl10_binary"):
        get_dataset("stl10", "unlabeled", tmp_path, download=False)


def test_imagenet_missing_names_files_and_folder_layout_works(tmp_path):
    with pytest.raises(HumeError) as err:
        get_dataset("imagenet", "train", tmp_path)
    msg = str(err.value)
    for needed in (
        "ILSVRC2012_devkit_t12.tar.gz",
        "ILSVRC2012_img_train.tar",
        "ILSVRC2012_img_val.tar",
        str(tmp_path / "imagenet"),
        "train/<wnid>",
    ):
        assert needed in msg
    _save(tmp_path / "imagenet" / "val" / "n02" / "x.JPEG", 0)
    _save(tmp_path / "imagenet" / "val" / "n01" / "y.JPEG", 1)
    val = get_dataset("imagenet", "val", tmp_path)
    assert val.split == "test" and val.classes == ["n01", "n02"] and val.labels.tolist() == [0, 1]


def test_names_and_splits(tmp_path):
    with pytest.raises(HumeError, match="unknown dataset 'mnist'.*cifar10.*digits.*imagefolder"):
        get_dataset("mnist", "train", tmp_path)
    with pytest.raises(HumeError, match="no split 'val'.*all"):
        get_dataset("digits", "val", tmp_path)
    assert dataset_splits("cifar10") == ["train", "test"] == dataset_splits("imagenet")
    assert dataset_splits("stl10") == ["train", "test"] and "unlabeled" in split_choices("stl10")
    assert store_dataset_name("CIFAR20") == "cifar100-20"
    assert {"cifar10", "cifar100", "cifar100-20", "stl10", "imagenet", "digits"} <= set(
        list_datasets()
    )


def test_stl10_binary_layout_and_unlabeled_split(tmp_path, monkeypatch):
    import torchvision.datasets.stl10 as stl10

    monkeypatch.setattr(stl10, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    base = tmp_path / "stl10_binary"
    base.mkdir()
    rng = np.random.default_rng(0)
    made = {}
    for part, n in (("train", 3), ("test", 2), ("unlabeled", 4)):
        x = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
        x.tofile(base / f"{part}_X.bin")
        made[part] = x
        if part != "unlabeled":
            y = rng.integers(1, 11, n).astype(np.uint8)  # STL-10 stores labels 1..10
            y.tofile(base / f"{part}_y.bin")
            made[part + "_y"] = y
    (base / "class_names.txt").write_text("\n".join(D.STL10_CLASSES) + "\n")
    train = get_dataset("stl10", "train", tmp_path, download=False)
    assert train.labels.tolist() == (made["train_y"].astype(int) - 1).tolist()
    assert train.classes == D.STL10_CLASSES and train.info["image_size"] == 96
    img, label = train.dataset[1]
    # the binary is column-major per channel: torchvision transposes it to rows
    np.testing.assert_array_equal(
        np.asarray(img), made["train"][1].transpose(0, 2, 1).transpose(1, 2, 0)
    )
    unl = get_dataset("stl10", "unlabeled", tmp_path, download=False)
    assert len(unl) == 4 and unl.labels.tolist() == [-1] * 4 and unl.dataset[0][1] == -1


def test_one_alias_table_with_the_papers_spellings():
    from hume.core.names import ALIASES, canonical_dataset
    from hume.embed.datasets import dataset_patterns

    for alias, name in ALIASES["dataset"].items():
        assert name in list_datasets() and alias not in list_datasets(), alias
        assert store_dataset_name(alias.upper()) == name
    for spelling in ("imagenet-1k", "ImageNet1k", "cifar100_20", "CIFAR-100-20", "stl-10"):
        assert canonical_dataset(spelling) in list_datasets()
    assert canonical_dataset("mine") == "mine"  # not an alias: unchanged, never an error
    assert list_datasets("cifar*") == ["cifar10", "cifar100", "cifar100-20"]
    assert dataset_patterns() == ["imagefolder:PATH"]


def test_requested_splits_are_checked_before_anything_opens(tmp_path):
    from hume.embed.datasets import requested_splits

    assert requested_splits("stl10") == ["train", "test"]
    assert requested_splits("stl10", "unlabeled") == ["unlabeled"]
    with pytest.raises(HumeError, match="imagefolder:PATH, e.g."):
        requested_splits("imagefolder:  ")
    with pytest.raises(HumeError, match="no split 'unlabeled'.*train, test"):
        requested_splits("cifar10", "unlabeled")


def _unlabelled_folder(root):
    """Top-level images, nested sub-folders that are no classes, a corrupt image, a text file."""
    for i in range(3):
        _save(root / f"top{i}.png", i)
    _save(root / "batch_a" / "x.png", 10)
    _save(root / "2024" / "june" / "y.jpg", 11)
    (root / "notes.txt").write_text("not an image")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (root / ".hidden.png").write_bytes(b"junk")


def test_imagefolder_takes_any_folder_of_images_and_counts_what_it_skips(tmp_path, caplog):
    """Images at any depth are rows (sorted relative paths); sub-folders are classes only when
    every image sits in one; a non-image and a corrupt image are skipped and said so."""
    import logging

    root = tmp_path / "photos"
    _unlabelled_folder(root)
    with caplog.at_level(logging.INFO, logger="hume"):
        ds = get_dataset(f"imagefolder:{root}", "all", tmp_path / "data")
    assert ds.paths == ["2024/june/y.jpg", "batch_a/x.png", "top0.png", "top1.png", "top2.png"]
    assert ds.labels.tolist() == [-1] * 5 and ds.num_classes is None and ds.classes is None
    assert "every label is −1" in ds.info["labels"]
    skipped = ds.info["skipped"]
    assert skipped["not_images"] == ["notes.txt"] and skipped["n_unreadable"] == 1
    assert skipped["unreadable"][0][0] == "broken.png"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "skipped 2 of 7 files" in lines[0] and "broken.png" in lines[0]
    img, label = ds.dataset[1]
    assert img.mode == "RGB" and label == -1
    np.testing.assert_array_equal(np.asarray(img), _save(tmp_path / "again.png", 10))


def test_imagefolder_scan_verdicts_are_cached_and_changes_rechecked(tmp_path, monkeypatch):
    import hume.embed.datasets.imagefolder as folder

    root = tmp_path / "p"
    _unlabelled_folder(root)
    get_dataset(f"imagefolder:{root}", "all", tmp_path / "data")
    checked = []
    real = folder.check_image
    monkeypatch.setattr(folder, "check_image", lambda p: checked.append(p.name) or real(p))
    assert len(get_dataset(f"imagefolder:{root}", "all", tmp_path / "data")) == 5
    assert checked == []  # nothing changed: no image decoded again
    _save(root / "top1.png", 99)  # rewritten: checked again
    _save(root / "new.png", 98)
    ds = get_dataset(f"imagefolder:{root}", "all", tmp_path / "data")
    assert sorted(checked) == ["new.png", "top1.png"] and len(ds) == 6


def test_imagefolder_class_folders_at_any_depth_and_no_image_at_all(tmp_path):
    root = tmp_path / "c"
    _save(root / "cat" / "2019" / "a.png", 0)
    _save(root / "cat" / "b.png", 1)
    _save(root / "dog" / "c.png", 2)
    ds = get_dataset(f"imagefolder:{root}", "all", tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.labels.tolist() == [0, 0, 1]
    assert ds.paths == ["cat/2019/a.png", "cat/b.png", "dog/c.png"]
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    with pytest.raises(HumeError, match="no images in .*1 not an image"):
        get_dataset(f"imagefolder:{tmp_path / 'texts'}", "all", tmp_path)
