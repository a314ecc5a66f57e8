"""HUME (NeurIPS 2023): settings (:mod:`.config`), task encoder (:mod:`.encoder`, :mod:`.sparsemax`),
inner fit with its second-order hypergradient (:mod:`.inner`), outer loop (:mod:`.outer`),
estimator (:mod:`.estimator`)."""
