"""Loading a view for search: features only, straight into one tensor, chunk by chunk."""

from __future__ import annotations

import os

import torch

from hume.store.feature_store import FeatureStore, open_store


def load_view(store: FeatureStore | str | os.PathLike, device: str | torch.device = "cpu",
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """All rows of a complete store's ``features`` as an (N, D) tensor on ``device``.

    The output is allocated once and filled one chunk at a time, so host memory holds the
    result (on CPU) plus a single chunk, never a second full copy. Labels are not read.
    """
    own = not isinstance(store, FeatureStore)
    st = open_store(store) if own else store
    try:
        out = torch.empty((st.n_rows, st.dim), dtype=dtype, device=device)
        for start, stop, rows in st.iter_chunks():
            out[start:stop].copy_(torch.from_numpy(rows), non_blocking=False)
        return out
    finally:
        if own:
            st.close()
