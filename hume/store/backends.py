"""The two backends of a feature store: creating and opening its arrays in Zarr v3 (a group
of arrays, each chunk its own object: several processes may write disjoint chunks) or in HDF5
(one file, every dataset allocated at creation: later writes change raw data in place)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hume.store.checksums import CRC_ARRAY

#: HDF5 keeps the attribute dict as one JSON string under this name
H5_ATTRS = "hume_attrs"


def _create_zarr(path: Path, n_rows: int, dim: int, dtype: str, chunk_rows: int, n_chunks: int):
    import zarr

    group = zarr.open_group(str(path), mode="w")
    features = group.create_array(
        "features",
        shape=(n_rows, dim),
        chunks=(chunk_rows, dim),
        dtype=dtype,
        fill_value=np.nan,
        compressors=None,
    )
    labels = group.create_array(
        "labels", shape=(n_rows,), chunks=(max(n_rows, 1),), dtype="int64", fill_value=-1
    )
    done = group.create_array("_done", shape=(n_chunks,), chunks=(1,), dtype="uint8", fill_value=0)
    group.create_array(CRC_ARRAY, shape=(n_chunks,), chunks=(1,), dtype="int64", fill_value=-1)
    return group, features, labels, done


def _open_zarr(path: Path, writable: bool):
    import zarr

    group = zarr.open_group(str(path), mode="r+" if writable else "r")
    return group, group["features"], group["labels"], group["_done"]


def _create_hdf5(path: Path, n_rows: int, dim: int, dtype: str, chunk_rows: int, n_chunks: int):
    import h5py

    def allocated() -> Any:
        """Space allocated (and filled) at creation: later writes touch raw data only."""
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        return dcpl

    handle = h5py.File(path, "w")
    features = handle.create_dataset(
        "features",
        shape=(n_rows, dim),
        dtype=dtype,
        chunks=(chunk_rows, dim),
        fillvalue=np.nan,
        dcpl=allocated(),
    )
    labels = handle.create_dataset(
        "labels", shape=(n_rows,), dtype="int64", fillvalue=-1, dcpl=allocated()
    )
    done = handle.create_dataset(
        "_done", shape=(n_chunks,), dtype="uint8", fillvalue=0, dcpl=allocated()
    )
    handle.create_dataset(
        CRC_ARRAY, shape=(n_chunks,), dtype="int64", fillvalue=-1, dcpl=allocated()
    )
    return handle, features, labels, done


def _open_hdf5(path: Path, writable: bool):
    import h5py

    handle = h5py.File(path, "r+" if writable else "r")
    try:
        return handle, handle["features"], handle["labels"], handle["_done"]
    except KeyError:
        handle.close()
        raise


#: format -> (create(path, n_rows, dim, dtype, chunk_rows, n_chunks), open(path, writable)), each
#: returning (handle, features, labels, done)
BACKENDS: dict[str, tuple[Any, Any]] = {
    "zarr": (_create_zarr, _open_zarr),
    "hdf5": (_create_hdf5, _open_hdf5),
}
