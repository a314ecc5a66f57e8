"""The choice of K and of φ1 among candidate searches (``--k 5:15``, ``--phi1 auto``): the
candidates (:mod:`.candidates`), their screens (:mod:`.screens`) and the fast scan's climb over K
(:mod:`.climbing`), the choice itself (:mod:`.choosing`), its files (:mod:`.choice_files`) and its
cost told before it starts (:mod:`.choice_cost`)."""
