"""Choosing among labelings without labels: the label-free score (:mod:`.label_free_score`) and
the spread of a difference of two scores (:mod:`.score_spread`), the seeds made one by vote or
consensus (:mod:`.ensembling`, :mod:`.consensus`), and the signals that rank candidate searches
(:mod:`.choice_signals`)."""
