"""Datasets: one name + split -> a map-style dataset whose item i is row i of a store.

``get_dataset(name, split, data_dir)`` opens a split; ``list_datasets("cifar*")`` lists registered
names (aliases such as ``cifar20`` resolve through :data:`hume.core.names.ALIASES`), and
``dataset_patterns()`` the prefixed families. The families register themselves here:

* :mod:`~hume.embed.datasets.torchvision_sets`: ``cifar10``, ``cifar100``, ``cifar100-20``, ``stl10``;
* :mod:`~hume.embed.datasets.imagenet`: ``imagenet`` (ILSVRC-2012, placed by hand);
* :mod:`~hume.embed.datasets.imagefolder`: ``imagefolder:PATH``;
* :mod:`~hume.embed.datasets.digits`: ``digits`` (scikit-learn's, offline).

Items are ``(sample, label)`` with PIL images as samples and int labels (−1 where unknown).
"""

from hume.embed.datasets import digits, imagefolder, imagenet, torchvision_sets  # noqa: F401 - they register themselves
from hume.embed.datasets.dataset_registry import (
    dataset_patterns,
    dataset_splits,
    get_dataset,
    list_datasets,
    register_dataset,
    register_dataset_prefix,
    requested_splits,
    split_choices,
    store_dataset_name,
)
from hume.embed.datasets.dataset_split import DatasetSplit

__all__ = [
    "DatasetSplit",
    "dataset_patterns",
    "dataset_splits",
    "get_dataset",
    "list_datasets",
    "register_dataset",
    "register_dataset_prefix",
    "requested_splits",
    "split_choices",
    "store_dataset_name",
]
