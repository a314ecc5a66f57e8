"""The feature store: features of one (dataset, split, model), in Zarr v3 or HDF5 (SPEC §4)."""

from hume.store.catalog import (StoreEntry, datasets_with_views, find_store, list_stores,
                                resolve_dataset, splits_of)
from hume.store.feature_store import (DTYPES, FeatureStore, create_store, library_versions,
                                      open_store, remove_store)
from hume.store.loading import load_view
from hume.store.paths import FORMATS, check_format, resolve_root, store_path
from hume.store.validate import check_features, check_labels

__all__ = [
    "DTYPES", "FORMATS", "FeatureStore", "StoreEntry", "check_features", "check_format",
    "check_labels", "create_store", "datasets_with_views", "find_store", "library_versions",
    "list_stores", "load_view", "open_store", "remove_store", "resolve_dataset", "resolve_root",
    "splits_of", "store_path",
]
