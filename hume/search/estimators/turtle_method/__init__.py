"""TURTLE (ICML 2024): settings (:mod:`.turtle_config`), outer loop (:mod:`.turtle_outer`),
estimator (:mod:`.turtle_estimator`)."""
