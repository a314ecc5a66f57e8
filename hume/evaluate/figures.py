"""Figures of the evaluate stage, as PNG files (matplotlib, headless: no pyplot, no display).

Each function takes plain arrays and a path, draws one figure, writes it, and returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_MAX_TICKS = 40  # beyond this many classes, tick labels are unreadable: omit them


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(fig, path: str | os.PathLike) -> Path:
    from hume.core.files import atomic_write

    path = Path(path)
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def _names(n: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is not None and len(class_names) >= n:
        return [str(c) for c in class_names[:n]]
    return [str(i) for i in range(n)]


def _column_label(i: int, kt: int, clusters: Sequence[int], names: list[str]) -> str:
    """Column i of a matched confusion: its class and cluster id, or an unmatched cluster."""
    if i >= kt:
        return f"unmatched #{clusters[i]}"
    return f"{names[i]} (#{clusters[i]})" if clusters[i] >= 0 else f"{names[i]} (none)"


def confusion_figure(
    matrix: np.ndarray,
    clusters: Sequence[int],
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Row-normalised confusion matrix (true class × found cluster, matched on the diagonal).

    ``matrix`` (n_classes, n_columns) and ``clusters`` as
    :class:`~hume.evaluate.metrics.MatchedConfusion` gives them; unmatched clusters are the extra columns, named
    ``unmatched #<id>``; a class no cluster was matched to is named ``<class> (none)``.
    """
    m = np.asarray(matrix, dtype=np.float64)
    kt, kc = m.shape
    frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    side = float(np.clip(0.35 * max(kt, kc) + 2.5, 5, 14))
    fig = _figure(side * max(1.0, kc / max(kt, 1)) ** 0.5, side)
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class")
    names = _names(kt, class_names)
    if max(kt, kc) <= _MAX_TICKS:
        cols = [_column_label(i, kt, clusters, names) for i in range(kc)]
        ax.set_xticks(range(kc), cols, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(kt), names, fontsize=8)
        if max(kt, kc) <= 15:
            for i in range(kt):
                for j in range(kc):
                    if m[i, j]:
                        ax.text(
                            j,
                            i,
                            f"{int(m[i, j])}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if frac[i, j] > 0.5 else "black",
                        )
    ax.set_xlabel("found cluster (matched to a class by Hungarian matching)")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix of the ensemble labeling")
    return _save(fig, path)


def score_vs_accuracy_figure(
    scores: Sequence[float] | np.ndarray,
    accs: Sequence[float] | np.ndarray,
    path: str | os.PathLike,
    spearman: float | None,
    selected: int | None = None,
    ensemble_acc: float | None = None,
    score_name: str = "label-free score",
) -> Path:
    """Per-seed label-free score (x) against true ACC (y), Spearman ρ printed in the figure."""
    x, y = np.asarray(scores, float), np.asarray(accs, float)
    fig = _figure(6, 4.5)
    ax = fig.add_subplot()
    ax.scatter(x, y * 100, s=28, alpha=0.8, label="seeds")
    if selected is not None:
        ax.scatter(
            [x[selected]],
            [y[selected] * 100],
            s=110,
            facecolors="none",
            edgecolors="red",
            linewidths=2,
            label="selected (highest score)",
        )
    if ensemble_acc is not None:
        ax.axhline(ensemble_acc * 100, color="green", ls="--", lw=1, label="ensemble")
    rho = "n/a (too few seeds or constant values)" if spearman is None else f"{spearman:.3f}"
    ax.text(
        0.02,
        0.97,
        f"Spearman ρ = {rho}\nn = {len(x)} seeds",
        transform=ax.transAxes,
        va="top",
        fontsize=10,
        bbox=dict(boxstyle="round", fc="white", alpha=0.8),
    )
    ax.set_xlabel(score_name + " (no labels used)")
    ax.set_ylabel("true ACC (%)")
    ax.set_title("label-free score vs. true accuracy per seed")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def class_sizes_figure(
    found: Sequence[int],
    path: str | os.PathLike,
    true: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Size of each found class next to the true class sizes (when ground truth exists).

    With ``true`` (n_classes,), ``found[i]`` is the size of the cluster matched to class i (0 if
    none) and entries past n_classes are unmatched clusters; without it, found sizes are drawn
    largest first.
    """
    sizes = np.asarray(found, dtype=np.int64)
    k = len(sizes) if true is None else max(len(sizes), len(true))
    fig = _figure(float(np.clip(0.3 * k + 3, 6, 16)), 4.5)
    ax = fig.add_subplot()
    pos = np.arange(k)
    if true is None:
        ax.bar(pos, np.sort(sizes)[::-1], color="tab:blue", label="found classes")
        ax.set_xlabel("found class (largest first)")
        ax.set_title("sizes of the found classes (no ground truth)")
    else:
        t = np.zeros(k, np.int64)
        t[: len(true)] = true
        f = np.zeros(k, np.int64)
        f[: len(sizes)] = sizes
        ax.bar(pos - 0.2, t, width=0.4, color="tab:gray", label="true class")
        ax.bar(pos + 0.2, f, width=0.4, color="tab:blue", label="found class matched to it")
        if k <= _MAX_TICKS:
            names = _names(len(true), class_names) + ["unmatched"] * (k - len(true))
            ax.set_xticks(pos, names, rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("class")
        ax.set_title("found class sizes vs. true class sizes")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    return _save(fig, path)


def agreement_figure(
    per_row: Sequence[float] | np.ndarray, n_seeds: int, path: str | os.PathLike
) -> Path:
    """How many seeds agree with the ensemble on each row (label-free): a histogram over rows."""
    agree = np.rint(np.asarray(per_row, dtype=np.float64) * n_seeds).astype(np.int64)
    counts = np.bincount(agree, minlength=n_seeds + 1)
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    ax.bar(np.arange(n_seeds + 1), counts, color="tab:blue")
    ax.set_xlabel(f"seeds (of {n_seeds}) that give a row the ensemble's class")
    ax.set_ylabel("rows")
    ax.set_title("agreement between seeds (no labels used)")
    return _save(fig, path)


def choice_figure(candidates: Sequence[dict], chosen: str, path: str | os.PathLike) -> Path:
    """The label-free signals of a K range (and of each view as φ1) against K: of the candidates
    searched in full, and the screens' criterion where the scan was fast; with ground truth the
    accuracy too, for the reader only (the choice never reads it)."""
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    orders = sorted({c["phi1"] for c in candidates})
    for i, phi1 in enumerate(orders):
        mine = sorted((c for c in candidates if c["phi1"] == phi1), key=lambda c: c["k"])
        rows = [c for c in mine if c.get("searched", "full") == "full"]
        tag = f" (φ1 {phi1})" if len(orders) > 1 else ""
        series = [
            ("criterion", "o-", 1.0, "criterion (mean of the two below)"),
            ("consensus_stability", "x:", 0.6, "consensus stability"),
            ("stability", "d-.", 0.6, "stability of the seeds"),
            ("balanced_score", "s--", 0.6, "balanced label-free score"),
        ]
        if not all("criterion" in c for c in rows):  # a run of an earlier version
            series = series[2:]
        if rows and all("acc" in c for c in rows):
            series.append(("acc", "^:", 0.6, "true ACC (not used)"))
        for key, style, alpha, label in series:
            ax.plot(
                [c["k"] for c in rows],
                [c[key] for c in rows],
                style,
                color=f"C{i}",
                alpha=alpha,
                label=label + tag,
            )
        screened = [c for c in mine if "screen" in c]
        if screened:
            ax.plot(
                [c["k"] for c in screened],
                [c["screen"]["criterion"] for c in screened],
                ".--",
                color=f"C{i}",
                alpha=0.45,
                label="criterion of the screens" + tag,
            )
            if all("acc" in c for c in screened):
                ax.plot(
                    [c["k"] for c in screened],
                    [c["acc"] for c in screened],
                    "v:",
                    color=f"C{i}",
                    alpha=0.3,
                    label="true ACC (not used; searched in full where searched)" + tag,
                )
    best = next(c for c in candidates if c["run"] == chosen)
    ax.axvline(best["k"], color="red", lw=1, ls="--", label=f"chosen: K = {best['k']}")
    ax.set_xlabel("K")
    ax.set_ylabel("value")
    ax.set_title("choosing K without labels")
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)
