"""The feature store: features of one (dataset, split, model), in Zarr v3 or HDF5 (docs/data.md §2)."""

from hume.store.catalog import (
    StoreEntry,
    datasets_with_views,
    find_store,
    list_stores,
    resolve_dataset,
    splits_of,
)
from hume.store.feature_store import FeatureStore, StoreDtype
from hume.store.lifecycle import (
    bytes_to_write,
    create_store,
    open_store,
    remove_leftovers,
    remove_store,
)
from hume.store.paths import (
    FORMATS,
    StoreFormat,
    check_format,
    resolve_root,
    store_lock,
    store_path,
)
from hume.store.validate import check_features, check_labels

__all__ = [
    "FORMATS",
    "FeatureStore",
    "StoreDtype",
    "StoreEntry",
    "StoreFormat",
    "bytes_to_write",
    "check_features",
    "check_format",
    "check_labels",
    "create_store",
    "datasets_with_views",
    "find_store",
    "list_stores",
    "open_store",
    "remove_leftovers",
    "remove_store",
    "resolve_dataset",
    "resolve_root",
    "splits_of",
    "store_lock",
    "store_path",
]
