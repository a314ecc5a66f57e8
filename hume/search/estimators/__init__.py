"""The search methods as scikit-learn estimators: the base both share (:mod:`.estimator_base`),
HUME (:mod:`.hume_method`), TURTLE (:mod:`.turtle_method`), and the refit around a reviewer's
anchors (:mod:`.anchored_refit`)."""
