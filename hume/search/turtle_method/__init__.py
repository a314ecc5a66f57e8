"""TURTLE (ICML 2024): settings (:mod:`.config`), outer loop (:mod:`.outer`), estimator."""
