"""A search as a run directory: what is asked (:mod:`.request`), starting, joining and resuming
a run under its lock (:mod:`.run_lifecycle`), searching its seeds into it (:mod:`.run_execution`,
:mod:`.seed_files`, :mod:`.shards` for ``--seed-range``, :mod:`.sweep`), the stores it reads
(:mod:`.view_loading`) and a finished run read back (:mod:`.run_readers`)."""
