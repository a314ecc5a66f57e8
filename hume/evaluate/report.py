"""Score a run against ground truth and baselines; write report.json, report.md, figures/.

The run's own outputs (config.json, seeds.npz, ensemble.npz, encoders) are only read.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.core.files import save_npz, write_json, write_text
from hume.core.reporting import SILENT, Reporter, logger
from hume.evaluate import baselines as bounds
from hume.evaluate import figures
from hume.evaluate.baselines import kmeans_fit_predict, linear_probe, subsample
from hume.evaluate.choice_report import choice_report
from hume.evaluate.metrics import score_labeling
from hume.evaluate.paper import paper_numbers
from hume.evaluate.report_markdown import markdown
from hume.evaluate.run_inputs import RunInputs, load_inputs
from hume.search.selection.choice_signals import reproducibility

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
FIGURES = "figures"
CONFUSION_NPZ = "confusion.npz"
MAX_JSON_CONFUSION = 40_000  # entries; a larger matrix goes to confusion.npz


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def evaluation_device(requested: str | None, recorded: str | None) -> str:
    """``requested``, else the device the run ``recorded``; ``auto``/unavailable CUDA fall back
    to CPU."""
    import torch

    from hume.core.devices import resolve_device

    want = str(requested or recorded or "auto")
    if want not in ("auto", "cpu", "cuda") and not want.startswith("cuda:"):
        if requested:
            raise HumeError(f"unknown device {requested!r}: use auto, cpu or cuda")
        want = "auto"  # a device string this version does not know: choose as auto does
    if want.startswith("cuda") and not torch.cuda.is_available():
        want = "cpu"  # a GPU run evaluated where there is no GPU: the baselines run on the CPU
    return str(resolve_device(want))


def spearman(scores: np.ndarray, accs: np.ndarray) -> dict[str, Any]:
    """Spearman rank correlation of label-free scores and true accuracies over seeds."""
    from scipy.stats import spearmanr

    ok = np.isfinite(scores) & np.isfinite(accs)
    n = int(ok.sum())
    rho = None
    if n >= 3 and np.ptp(scores[ok]) > 0 and np.ptp(accs[ok]) > 0:
        # no p-value: its t-approximation is meaningless for the few seeds a run has
        rho = _finite(spearmanr(scores[ok], accs[ok]).statistic)
    return {"rho": rho, "n_seeds": n}


def seed_agreements(inp: RunInputs) -> tuple[np.ndarray, dict[str, Any]]:
    """How much the seeds agree with the ensemble, label-free: per row the share of seeds (matched
    to the reference as the run matched them) giving the ensemble's label, and its summary."""
    import torch

    from hume.search.selection.ensembling import match_labelings, seed_agreement

    k = int(inp.config.k or inp.seed_labels.max() + 1)
    labelings = torch.as_tensor(inp.seed_labels)
    perms = _run_perms(inp)
    if perms is None:  # runs that kept no matching: match on these rows, as the run did
        perms = match_labelings(labelings, labelings[inp.reference_seed], k)
    per_row = seed_agreement(labelings, perms, torch.as_tensor(inp.ensemble), k).numpy()
    mapped = torch.gather(torch.as_tensor(perms).long(), 1, labelings).numpy()
    per_seed = (mapped == inp.ensemble[None]).mean(1)
    summary = {
        "mean": float(per_row.mean()),
        "all_seeds_agree": float((per_row == 1).mean()),
        "per_seed": [float(a) for a in per_seed],
    }
    return per_row, summary


def _run_perms(inp: RunInputs) -> Any:
    """The run's matching of every seed to the reference (encoders.pt), or None: a run that
    kept none, or whose file cannot be read (said in a warning; the matching is recomputed)."""
    import torch

    path = inp.run_dir / "encoders.pt"
    try:
        saved = torch.load(path, weights_only=True)
        perms = saved.get("perms")
    except Exception as exc:  # noqa: BLE001 - without it the matching is recomputed
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        logger.warning(
            "could not read the seeds' matching from %s (%s): the seeds are matched again on "
            "these rows, so the seed agreement may differ slightly from the run's",
            path,
            why,
        )
        return None
    return None if perms is None else torch.as_tensor(perms).long()


def _seed_table(inp: RunInputs, known: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for i, labels in enumerate(inp.seed_labels):
        row = {
            "seed": i,
            "score": _finite(inp.scores[i]),
            "objective": _finite(inp.objectives[i]),
            "n_clusters": int(np.unique(labels).size),
        }
        if known.any():
            m = score_labeling(inp.y_true[known], labels[known], detail=False)
            row.update(acc=m["acc"], ari=m["ari"], nmi=m["nmi"])
        rows.append(row)
    return rows


def _scored(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    m = score_labeling(y_true, y_pred, detail=False)
    return {k: m[k] for k in ("acc", "ari", "nmi", "n_clusters", "n_samples")}


def run_baselines(
    inp: RunInputs,
    device: str,
    n_init: int = 5,
    seed: int = 0,
    max_fit_rows: int | None = None,
    max_probe_rows: int | None = None,
    reporter: Reporter = SILENT,
) -> dict[str, Any]:
    """k-means per view and on the normalised concatenation; the supervised probe per view.

    k-means is fitted on (a seeded sample of at most ``max_fit_rows``, default
    :func:`~hume.evaluate.baselines.kmeans_fit_rows`, of) the searched rows and labels every
    evaluated row; the probe is fitted on (a seeded sample of at most ``max_probe_rows``, default
    :data:`~hume.evaluate.baselines.PROBE_MAX_FIT_ROWS`, of) the labelled searched rows and
    predicts the evaluated rows, or, when those are the same rows, is cross-validated. Every
    baseline is scored on every labelled evaluated row; each says what it was fitted on
    (``fitted_on``: rows of how many).
    """
    known = inp.y_true >= 0
    y_eval = inp.y_true
    k = int(inp.config.k or len(np.unique(y_eval[known])))
    max_fit_rows = bounds.kmeans_fit_rows(k) if max_fit_rows is None else max_fit_rows
    max_probe_rows = bounds.PROBE_MAX_FIT_ROWS if max_probe_rows is None else max_probe_rows
    views = inp.views
    n_fit = inp.n_rows(inp.fit_splits)
    # inductive: the searched (train) rows only fit k-means and the probe, so a seeded subsample
    # of at most max_fit_rows of them is read (ImageNet's train split never sits in memory)
    fit_rows = None if inp.same_rows else subsample(n_fit, max_fit_rows, seed)
    y_fit = inp.y_true if inp.same_rows else inp.labels_of(inp.fit_splits)
    n_fit_labelled = int((y_fit >= 0).sum())
    if fit_rows is not None:
        y_fit = y_fit[fit_rows]
    out: dict[str, Any] = {
        "kmeans": {},
        "linear_probe": {},
        "settings": {
            "device": device,
            "k": k,
            "kmeans_restarts": n_init,
            "seed": seed,
            "kmeans_max_fit_rows": max_fit_rows,
            "probe_max_rows": max_probe_rows,
            "kmeans_fit_on": "+".join(inp.fit_splits),
            "evaluated_on": "+".join(inp.eval_splits),
            "fit_rows_read": None if fit_rows is None else int(len(fit_rows)),
        },
    }
    fit, ev = {}, {}
    for view in list(views):
        try:
            fit[view] = inp.features(view, inp.fit_splits, device, rows=fit_rows)
            ev[view] = fit[view] if inp.same_rows else inp.features(view, inp.eval_splits, device)
        except HumeError as exc:  # e.g. no φ2 store of the test split: skip that view, say why
            out.setdefault("skipped", {})[view] = str(exc)
            fit.pop(view, None)
            views = [v for v in views if v != view]
    roles = {v: "phi1" if v == inp.views[0] else "phi2" for v in views}
    n_tasks = 2 * len(views) + (1 if len(views) > 1 else 0)
    with reporter.task("baselines", total=n_tasks) as task:

        def attempt(key: str, name: str, compute) -> None:
            """Run one baseline; a baseline that cannot run on this data is skipped, with why."""
            try:
                out[key][name] = compute()
            except HumeError as exc:
                out.setdefault("skipped", {})[f"{key} on {name}"] = str(exc)
            task.advance(1, done=f"{key} on {name}")

        def kmeans_on(xf, xe, role: str) -> dict[str, Any]:
            res = kmeans_fit_predict(
                xf, xe, k, n_init=n_init, seed=seed, max_fit_rows=max_fit_rows, device=device
            )
            fitted = {"rows": res.fit_rows, "of": n_fit}  # the read sample is of n_fit rows
            scored = _scored(y_eval[known], res.labels[known])
            return {"role": role, "fitted_on": fitted, **scored}

        def probe_on(view: str) -> dict[str, Any]:
            if inp.same_rows or not (y_fit >= 0).any():
                # same rows (or no labelled train rows): cross-validate on the evaluated rows
                res = linear_probe(ev[view], y_eval, max_rows=max_probe_rows, seed=seed)
                truth, pred, of = y_eval[res.rows], res.y_pred, res.of_rows
            else:
                res = linear_probe(fit[view], y_fit, ev[view], max_rows=max_probe_rows, seed=seed)
                truth, pred, of = y_eval[known], res.y_pred[known], n_fit_labelled
            fitted = {"rows": res.fit_rows, "of": of}
            scored = _scored(truth, pred)
            return {"role": roles[view], "protocol": res.protocol, "fitted_on": fitted, **scored}

        for view in views:
            attempt("kmeans", view, lambda v=view: kmeans_on(fit[v], ev[v], roles[v]))
        if len(views) > 1:
            attempt(
                "kmeans",
                "concat(" + ",".join(views) + ")",
                lambda: kmeans_on(
                    [fit[v] for v in views], [ev[v] for v in views], "all views, L2-normalised"
                ),
            )
        for view in views:
            attempt("linear_probe", view, lambda v=view: probe_on(v))
    out["sampled"] = sampled_note(out)
    return out


def sampled_note(baselines: dict[str, Any]) -> str | None:
    """One sentence saying which baselines were fitted on a sample (rows of how many), or None
    when every baseline was fitted on all its rows."""
    parts = []
    for key, what in (("kmeans", "k-means"), ("linear_probe", "the linear probe")):
        sizes = {
            (m["fitted_on"]["rows"], m["fitted_on"]["of"])
            for m in baselines.get(key, {}).values()
            if m.get("fitted_on") and m["fitted_on"]["rows"] < m["fitted_on"]["of"]
        }
        for rows, of in sorted(sizes):
            parts.append(f"{what} on {rows} of {of} rows")
    if not parts:
        return None
    return (
        "baselines fitted on a seeded sample to bound their cost: "
        + ", ".join(parts)
        + "; their ACC, ARI and NMI are over every labelled evaluated row"
    )


def _confusion_and_sizes(inp: RunInputs, ens_metrics: dict, fig_dir: Path) -> list[Path]:
    written = []
    conf = np.asarray(ens_metrics["confusion"])
    clusters = ens_metrics["confusion_clusters"]
    written.append(
        figures.confusion_figure(
            conf,
            clusters,
            fig_dir / "confusion.png",
            inp.class_names,
            title=f"ensemble labeling, {'+'.join(inp.eval_splits)} ({inp.config.dataset})",
        )
    )
    written.append(
        figures.class_sizes_figure(
            conf.sum(axis=0),
            fig_dir / "class_sizes.png",
            true=conf.sum(axis=1),
            class_names=inp.class_names,
        )
    )
    return written


def build_report(
    inp: RunInputs,
    device: str,
    baselines: bool = True,
    n_init: int = 5,
    reporter: Reporter = SILENT,
) -> dict[str, Any]:
    """Every number of the report (JSON-ready) and the figures, written under ``figures/``."""
    cfg = inp.config
    fig_dir = inp.run_dir / FIGURES
    known = inp.y_true >= 0
    report: dict[str, Any] = {
        "run": inp.run_dir.name,
        "dataset": cfg.dataset,
        "method": cfg.method,
        "setting": cfg.setting,
        "views": inp.views,
        "phi1": inp.views[0],
        "phi2": inp.views[1:],
        "k": cfg.k,
        "n_seeds": int(len(inp.scores)),
        "evaluated_on": {
            "splits": inp.eval_splits,
            "n_rows": int(len(inp.y_true)),
            "n_labelled": int(known.sum()),
        },
        "ground_truth": inp.has_ground_truth,
        "reference_seed": inp.reference_seed,
        "created": datetime.now(UTC).isoformat(),
        "notes": list(inp.notes),
    }
    seeds = _seed_table(inp, known)
    report["seeds"] = seeds
    found_sizes = np.bincount(inp.ensemble, minlength=int(cfg.k or 0)).tolist()
    report["class_sizes"] = {"found": found_sizes}
    per_row, report["agreement"] = seed_agreements(inp)
    report["reproducibility"] = reproducibility(inp.seed_labels)
    chosen = cfg.hyperparameters.get("ensemble_chosen")
    if chosen:  # --ensemble auto: which ensemble, and why
        from hume.search.selection.ensembling import choice_text

        hyper = cfg.hyperparameters
        report["ensemble"] = {
            "kind": chosen,
            "label_free_scores": hyper.get("ensemble_scores"),
            "spread": hyper.get("ensemble_spread"),
            "tie": hyper.get("ensemble_tie"),
            "text": choice_text(hyper),
        }
    written: list[Path] = [
        figures.agreement_figure(per_row, len(inp.scores), fig_dir / "agreement.png")
    ]
    report["choice"], drawn = choice_report(inp, fig_dir)
    written += drawn
    if not inp.has_ground_truth:
        report["notes"].append(
            "no ground truth: the stores hold no labels (all −1), so no accuracy can be "
            "computed; only the label-free parts are reported (scores, class sizes, agreement "
            "between seeds)"
        )
        report.update(
            metrics=None,
            selected_seed=None,
            best_seed=None,
            median_seed=None,
            spearman=None,
            baselines=None,
        )
        written.append(figures.class_sizes_figure(found_sizes, fig_dir / "class_sizes.png"))
    else:
        if not known.all():
            report["notes"].append(
                f"{int((~known).sum())} of {len(known)} evaluated rows have "
                "no label (−1) and are left out of every metric"
            )
        y_true = inp.y_true[known]
        n_classes = max(inp.n_classes or 0, int(y_true.max()) + 1)
        ens = score_labeling(y_true, inp.ensemble[known], n_classes=n_classes)
        report["metrics"] = ens
        accs = np.array([s["acc"] for s in seeds])
        order = np.argsort(accs, kind="stable")
        picks = {
            "selected_seed": inp.reference_seed,
            "best_seed": int(order[-1]),
            "median_seed": int(order[(len(order) - 1) // 2]),
        }
        for key, i in picks.items():
            report[key] = {
                "seed": i,
                **score_labeling(y_true, inp.seed_labels[i][known], n_classes=n_classes),
            }
        report["spearman"] = spearman(inp.scores, accs)
        report["class_sizes"]["true"] = np.bincount(y_true, minlength=n_classes).tolist()
        report["class_names"] = inp.class_names
        written += _confusion_and_sizes(inp, ens, fig_dir)
        report["class_sizes"]["found_matched"] = np.asarray(ens["confusion"]).sum(axis=0).tolist()
        big = {}
        for key in ("metrics", *picks):
            m = report[key]
            if np.asarray(m["confusion"]).size > MAX_JSON_CONFUSION:
                # ImageNet-sized: the matrices go to confusion.npz, report.json stays readable
                big[f"{key}_matrix"] = np.asarray(m["confusion"])
                big[f"{key}_clusters"] = np.asarray(m["confusion_clusters"])
                m["confusion"] = m["confusion_clusters"] = f"{CONFUSION_NPZ}:{key}"
        if big:
            save_npz(inp.run_dir / CONFUSION_NPZ, big, compressed=True)
            report["extra_files"] = [CONFUSION_NPZ]
        written.append(
            figures.score_vs_accuracy_figure(
                inp.scores,
                accs,
                fig_dir / "score_vs_accuracy.png",
                report["spearman"]["rho"],
                selected=inp.reference_seed,
                ensemble_acc=ens["acc"],
            )
        )
        report["baselines"] = (
            run_baselines(inp, device, n_init=n_init, reporter=reporter) if baselines else None
        )
        for view, why in ((report["baselines"] or {}).get("skipped") or {}).items():
            report["notes"].append(f"baseline {view} skipped: {why}")
        if report["baselines"] and report["baselines"].get("sampled"):
            report["notes"].append(report["baselines"]["sampled"])
    report["paper"] = paper_numbers(cfg.dataset)
    report["figures"] = [str(p.relative_to(inp.run_dir)) for p in written]
    return report


def evaluate_run(
    run_dir: str | os.PathLike,
    root: str | os.PathLike | None = None,
    device: str | None = None,
    baselines: bool = True,
    n_init: int = 5,
    reporter: Reporter = SILENT,
) -> tuple[dict[str, Any], list[Path]]:
    """Evaluate one run; returns the report and the paths written (report files, figures)."""
    inp = load_inputs(run_dir, root)
    dev = evaluation_device(device, inp.config.device)
    report = build_report(inp, dev, baselines=baselines, n_init=n_init, reporter=reporter)
    run_dir = Path(run_dir)
    write_json(run_dir / REPORT_JSON, report)
    md = run_dir / REPORT_MD
    write_text(md, markdown(report))
    extra = [run_dir / f for f in report.get("extra_files", [])]
    return report, [run_dir / REPORT_JSON, md] + extra + [run_dir / f for f in report["figures"]]
