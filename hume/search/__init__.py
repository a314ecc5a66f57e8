"""Search stage: HUME's bilevel labeling search and label-free selection."""
