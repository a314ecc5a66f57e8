"""HUME (NeurIPS 2023): settings (:mod:`.hume_config`), task encoder (:mod:`.encoder`,
:mod:`.sparsemax`), inner fit with its second-order hypergradient (:mod:`.inner`), outer loop
(:mod:`.hume_outer`), estimator (:mod:`.hume_estimator`)."""
