"""What a choice among candidates keeps in its run (docs/data.md §3.12): ``request.json`` (what
defines the choice; asked otherwise, it is refused), ``choice.json`` (every candidate and its
signals), the chosen candidate's files copied to ``<run>``; and the signals of a candidate
searched in full, read back from its run."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hume.core.errors import HumeError, setting
from hume.core.files import read_json, write_json
from hume.core.reporting import logger
from hume.runs import CHOICE, CONFIG, ENSEMBLE, load_config, shown_ks, write_config
from hume.search.k_choice.candidates import Planned
from hume.search.search_runs.request import SearchRequest
from hume.search.search_runs.run_readers import seed_signals
from hume.search.selection.choice_signals import Candidate, consensus_kind, margin, measure, ranked
from hume.search.selection.score_spread import is_tie
from hume.search.vocabulary import KScan

CHOICE_FILE = CHOICE
#: the request a choice was started with: the same command again continues it
REQUEST_FILE = "request.json"
#: What a chosen run holds (copied from the candidate chosen).
RUN_FILES = ("seeds.npz", "ensemble.npz", "encoders.pt")


def request_record(
    req: SearchRequest,
    dataset: str,
    views: list[str],
    ks: list[int],
    phi1_auto: bool,
    scan: KScan,
) -> dict[str, Any]:
    """What defines a choice: asked again with other values, it is refused."""
    return {
        "method": req.method,
        "dataset": dataset,
        "views": views,
        "k": ks,
        "phi1": "auto" if phi1_auto else "first",
        "seeds": req.seeds,
        "setting": req.setting,
        "preset": req.preset or "default",
        "options": req.options.given(),
        "sweep": req.sweep,
        "class_sizes": req.class_sizes,
        "random_state": req.random_state,
        "single_view": req.single_view,
        "group_size": req.group_size,
        "scan": scan.value,
    }


def claim(base_dir: Path, asked: dict[str, Any]) -> None:
    """Start the choice of ``base_dir``, or continue it when it was asked for the same; refuse a
    run of that name that is no choice, or a choice asked with other settings."""
    if (base_dir / CONFIG).is_file() and not (base_dir / CHOICE_FILE).is_file():
        raise HumeError(
            f"run {base_dir.name!r} already exists and is no choice among candidates: choose "
            f"another {setting('run')} name"
        )
    path = base_dir / REQUEST_FILE
    finished = (base_dir / CONFIG).is_file()
    if path.is_file():
        have = json.loads(json.dumps(read_json(path)))
        mine = json.loads(json.dumps(asked))
        for key in mine:
            if have.get(key) != mine[key]:
                then = (
                    f"choose another {setting('run')} name for a new choice"
                    if finished
                    else "run it again as it was started to finish it, or choose another "
                    f"{setting('run')} name"
                )
                was, now = have.get(key), mine[key]
                if key == "k" and isinstance(was, list):
                    was, now = shown_ks(was), shown_ks(now)
                raise HumeError(
                    f"run {base_dir.name!r} was {'chosen' if finished else 'started'} with other "
                    f"settings ({key}: {was!r}, asked {now!r}): {then}"
                )
        return
    if not finished:  # a choice finished by an earlier version is taken as it is
        write_json(path, asked)


def full_signals(run_dir: Path, views: list[torch.Tensor], all_views: bool) -> Candidate:
    """A candidate run's label-free signals, from its seeds (labels are never read)."""
    config = load_config(run_dir)
    labels, scores, balanced = seed_signals(run_dir, views, all_views)
    with np.load(run_dir / ENSEMBLE) as ensemble:
        ensemble_labels = ensemble["labels"]
    hyper = config.hyperparameters
    setting = {
        "k": config.k,
        "size_term": hyper["size_term"],
        "entropy_weight": hyper.get("entropy_weight"),
    }
    kind = consensus_kind(hyper["ensemble"], hyper.get("auto_consensus"))
    return measure(setting, labels, scores, balanced, ensemble_labels, kind)


def describe(c: Candidate) -> str:
    return (
        f"K={c.setting['k']}, φ1 {c.setting['phi1']} by criterion {c.criterion:.3f} "
        f"(consensus stability {c.consensus:.3f}, stability {c.stability:.3f})"
    )


def write_choice(
    base_dir: Path,
    chosen: Candidate,
    plan: list[Planned],
    full: dict[str, Candidate],
    screens: dict[str, Candidate],
    screened: dict[str, int] | None,
    scan: str | None = None,
) -> None:
    """``base_dir``: the chosen candidate's run, and choice.json (every candidate); ``screened``
    the screens' ``seeds`` and ``iters`` (None: no screens, the exhaustive scan); ``scan`` the
    scan asked (:class:`~hume.search.vocabulary.KScan`; None: fast or exhaustive by the
    screens)."""
    source = base_dir.parent / chosen.setting["run"]
    base_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        tmp = base_dir / f".{name}.copy"
        shutil.copyfile(source / name, tmp)
        tmp.replace(base_dir / name)
    rows = []
    for p in plan:
        row: dict[str, Any] = {**p.setting(), "searched": "full" if p.run in full else "screen"}
        if p.run in full:
            row.update(full[p.run].as_dict())
        if p.run in screens:
            row["screen"] = {
                key: value
                for key, value in screens[p.run].as_dict().items()
                if key not in ("k", "run", "phi1", "order")
            }
        rows.append(row)
    choice = {
        "criterion": "mean of consensus stability and stability",
        "scan": scan if scan and screens else ("fast" if screens else "exhaustive"),
        **({"screen": {**screened, "searched_in_full": len(full)}} if screened else {}),
        "chosen": chosen.setting["run"],
        "k": chosen.setting["k"],
        "phi1": chosen.setting["phi1"],
        **runner_up(chosen, list(full.values())),
        "candidates": rows,
    }
    write_json(base_dir / CHOICE_FILE, choice)
    if "runner_up" in choice:
        logger.info("%s", margin_text(choice))
    config = load_config(source)
    config.candidate_of = None
    config.choice = {key: choice[key] for key in ("criterion", "scan", "chosen", "k", "phi1")}
    config.finished = datetime.now(UTC).isoformat()  # the run the last search produced
    write_config(base_dir, config)  # last: the run is complete once this is written


def runner_up(chosen: Candidate, full: list[Candidate]) -> dict[str, Any]:
    """choice.json's ``runner_up`` (the best other candidate searched in full), ``margin`` (how
    far the chosen criterion is above it), ``margin_spread`` and ``tie`` (the margin within
    :data:`~hume.search.selection.score_spread.TIE_SPREADS` spreads); nothing with one candidate."""
    others = [c for c in ranked(full) if c.setting["run"] != chosen.setting["run"]]
    if not others:
        return {}
    other = others[0]
    ahead, spread = margin(chosen, other)
    return {
        "runner_up": {
            key: other.setting[key] for key in ("run", "k", "phi1") if key in other.setting
        }
        | {"criterion": round(other.criterion, 6)},
        "margin": round(ahead, 6),
        "margin_spread": round(spread, 6),
        "tie": bool(spread > 0 and is_tie(ahead, spread)),
    }


def margin_text(choice: dict[str, Any]) -> str:
    """One sentence on a choice's margin over its runner-up (choice.json as written by
    :func:`write_choice`); empty for a choice of one candidate or of an earlier version."""
    other = choice.get("runner_up")
    if not other:
        return ""
    mine = f"K={choice['k']}" + (
        f", φ1 {choice['phi1']}" if other.get("phi1") != choice["phi1"] else ""
    )
    theirs = f"K={other['k']}" + (
        f", φ1 {other['phi1']}" if other.get("phi1") != choice["phi1"] else ""
    )
    spread = choice.get("margin_spread", 0.0)
    if choice.get("tie"):
        ks = f"K is {choice['k']} or {other['k']}" if other["k"] != choice["k"] else "a tie"
        return (
            f"{ks}: see both — {mine} leads {theirs} by {choice['margin']:.3f} in the criterion, "
            f"within its spread ({spread:.3f}); the other is run {other['run']}"
        )
    return (
        f"{mine} leads the runner-up {theirs} (run {other['run']}) by {choice['margin']:.3f} in "
        f"the criterion (spread {spread:.3f})"
    )


def summary(base_dir: Path) -> str:
    """What a finished choice chose, in a few words."""
    choice = read_json(base_dir / CHOICE_FILE)
    return f"K={choice['k']}, φ1 {choice['phi1']}, from {choice['chosen']}"
