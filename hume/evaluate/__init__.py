"""Evaluate stage: metrics against ground truth, baselines, reports and figures.

- :mod:`hume.evaluate.metrics`   ACC (Hungarian), ARI, NMI (geometric), matched confusion,
  per-class accuracy, non-empty clusters.
- :mod:`hume.evaluate.baselines` k-means in torch (per view and on the normalised
  concatenation) and the supervised linear probe (the ceiling).
- :mod:`hume.evaluate.paper`     published numbers of the papers, kept apart from measurements.
- :mod:`hume.evaluate.figures`   confusion matrix, score vs. accuracy, class sizes (PNG).
- :mod:`hume.evaluate.run_inputs`    reading a run and its stores, refusing changed stores.
- :mod:`hume.evaluate.report`    :func:`~hume.evaluate.report.evaluate_run`: report.json, report.md, figures/.
"""
