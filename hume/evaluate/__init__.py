"""Evaluate stage: metrics against ground truth, baselines, reports and figures."""
