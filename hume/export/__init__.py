"""Export stage: a run's labels as files people and other tools use (docs/data.md §3.9–§3.10).

- :mod:`hume.export.rows`      the labeled rows of a run or a prediction (class, confidence,
  margin, file, ground truth);
- :mod:`hume.export.tables`    labels.csv / labels.parquet and classes.json;
- :mod:`hume.export.exporter`  the output folder: formats, the class-folder tree, idempotence;
- :mod:`hume.export.gallery`   report.html, a gallery of every class;
- :mod:`hume.export.images`    the image behind a row, for thumbnails;
- :mod:`hume.export.corrections`  names, merges and moves of a review, checked and applied;
- :mod:`hume.export.label_studio` tasks and a labeling config for Label Studio, and its
  reviewed export read back as corrections;
- :mod:`hume.export.review`    the corrections files of one export, read in order.
"""
