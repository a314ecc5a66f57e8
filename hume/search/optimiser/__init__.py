"""What both search methods' outer loops share: the batched Adam (:mod:`.adam`), the loop's
bookkeeping (:mod:`.outer_loop`), the seeds' random streams and their grouping to fit the device
(:mod:`.random_streams`), and the class-size term of both objectives (:mod:`.size_terms`)."""
