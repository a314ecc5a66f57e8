"""hume: infer the human labeling of a dataset without labels (HUME, NeurIPS 2023)."""

__version__ = "0.1.0"
