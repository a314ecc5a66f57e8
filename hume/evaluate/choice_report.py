"""The part of an evaluation that concerns a run chosen among candidates (a K range, ``--phi1
auto``): every candidate's label-free signals and, with ground truth, its ACC and NMI (never
used to choose), and the figure of them against K."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.evaluate import figures
from hume.evaluate.metrics import score_labeling
from hume.evaluate.run_inputs import RunInputs, load_inputs


def choice_report(inp: RunInputs, fig_dir: Path) -> tuple[dict[str, Any] | None, list[Path]]:
    """For a run chosen from several (``--k 5:15``, ``--phi1 auto``): every candidate's
    label-free signals and, with ground truth, its ACC and NMI, which the choice never read (of
    its run when it was searched in full, else of its screen's consensus); and the figure of
    them against K."""
    from hume.core.files import read_json
    from hume.search.k_choice.choice_files import CHOICE_FILE
    from hume.search.k_choice.screens import SCREENS

    path = inp.run_dir / CHOICE_FILE
    if not path.is_file():
        return None, []
    choice = read_json(path)
    rows = []
    for cand in choice["candidates"]:
        row = dict(cand)
        if inp.has_ground_truth:
            truth, labels = inp.y_true, None
            if cand.get("searched", "full") == "full":
                try:
                    other = load_inputs(inp.run_dir.parent / cand["run"], inp.root)
                except HumeError as exc:  # a candidate run that is gone: its signals remain
                    row["note"] = str(exc)
                else:
                    truth, labels = other.y_true, other.ensemble
            else:  # a screen labelled the searched rows
                screen = inp.run_dir / SCREENS / f"{cand['run']}.npz"
                if screen.is_file():
                    with np.load(screen) as z:
                        labels = z["labels"]
                    truth = inp.y_true if inp.same_rows else inp.labels_of(inp.fit_splits)
            if labels is not None and len(labels) == len(truth):
                known = truth >= 0
                m = score_labeling(truth[known], labels[known], detail=False)
                row.update(acc=m["acc"], nmi=m["nmi"])
        rows.append(row)
    from hume.search.k_choice.choice_files import margin_text

    figure = figures.choice_figure(rows, choice["chosen"], fig_dir / "choice.png")
    return {**choice, "candidates": rows, "margin_text": margin_text(choice)}, [figure]


def candidate_signals(cand: dict[str, Any]) -> dict[str, Any]:
    """The signals a table shows for a candidate: its full search's, else its screen's."""
    if cand.get("searched", "full") == "full":
        return cand
    return {**cand.get("screen", {}), "score": None, "balanced_score": None}
