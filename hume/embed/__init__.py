"""Embed stage: run a frozen backbone over a dataset and stream its features into a store."""
