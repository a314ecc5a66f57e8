"""A review's corrections turned into a new run: splits searched, the rest relabelled around
the reviewed rows (:mod:`hume.refit.refit_run`)."""
