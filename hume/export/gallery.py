"""``report.html``: a gallery of the classes a run found, one file plus a thumbnails folder.

For each found class: its size and confidence, a grid of its most confident members and one of
its least confident (where a class goes wrong, it shows there), and with ground truth the true
class it is matched to and the share of its members of that class. Above the classes: the run's
evaluation tables and figures when ``hume evaluate`` wrote them. The page needs no server and no
network: figures are embedded, thumbnails are small JPEGs beside it. Thumbnails are made for a
bounded sample (at most :data:`MOST` + :data:`LEAST` per class and :data:`MAX_THUMBNAILS` in
all), never for every image. The page is also a review tool (:mod:`hume.export.gallery_review`):
rename, merge, move, page through each class's rows (every row up to a bound per class, then its
least confident: the page stays bounded whatever N is), save a corrections.json.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.files import write_text
from hume.core.reporting import SILENT, Reporter, counted, logger
from hume.export.corrections import Review
from hume.export.gallery_review import listed_rows, review_data
from hume.export.images import image_source
from hume.export.review_script import REVIEW_CSS, REVIEW_JS
from hume.export.rows import RunRows
from hume.export.tables import class_summaries

MOST, LEAST = 12, 6  # thumbnails per class: most and least confident members
MAX_THUMBNAILS = 3000
THUMB_SIDE = 96

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.15em;margin:0 0 .3em}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}td:first-child,th:first-child{text-align:left}
section.class{border:1px solid #ddd;border-radius:6px;padding:.8em;margin:1em 0}
.meta{color:#555;font-size:.9em;margin-bottom:.4em}
.grid{display:flex;flex-wrap:wrap;gap:4px;margin:.3em 0 .6em}
.grid figure{margin:0;width:96px;font-size:10px;color:#666;text-align:center}
.grid img{width:96px;height:96px;object-fit:contain;background:#f3f3f3;image-rendering:pixelated}
.label{font-weight:600;font-size:.85em;margin-top:.4em}
img.figure{max-width:480px;margin:.5em 1em .5em 0;border:1px solid #eee}
.note{color:#a45;font-size:.9em}
.warning{background:#fff4e0;border:1px solid #e0a040;border-radius:4px;padding:.5em .8em}
"""


def percent_text(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _figures(run_dir: Path | None) -> list[str]:
    """The run's evaluation figures as embedded <img> tags (PNG, base64)."""
    if run_dir is None or not (run_dir / "figures").is_dir():
        return []
    out = []
    for png in sorted((run_dir / "figures").glob("*.png")):
        data = base64.b64encode(png.read_bytes()).decode()
        out.append(
            f'<img class="figure" alt="{html.escape(png.stem)}" src="data:image/png;base64,{data}">'
        )
    return out


def _evaluation(run_dir: Path | None, has_truth: bool) -> list[str]:
    """The measured results of report.json when the run was evaluated; without ground truth, a
    note that no accuracy can be computed."""
    from hume.evaluate.report_markdown import result_rows

    if not has_truth:
        return [
            '<p class="note">No ground truth: these rows have no true labels, so no '
            "accuracy can be computed; the classes below are judged by the label-free "
            "confidence only.</p>"
        ]
    path = None if run_dir is None else run_dir / "report.json"
    if path is None or not path.is_file():
        return []
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    lines = []
    rows = result_rows(report)
    if rows:
        lines.append(
            "<h2>Measured against the true labels (×100)</h2><table>"
            "<tr><th>method</th><th>ACC</th><th>ARI</th><th>NMI</th></tr>"
        )
        for label, m in rows:
            lines.append(
                f"<tr><td>{html.escape(label)}</td><td>{percent_text(m['acc'])}</td>"
                f"<td>{percent_text(m['ari'])}</td><td>{percent_text(m['nmi'])}</td></tr>"
            )
        lines.append("</table>")
    return lines


def _reproducibility(run_dir: Path | None) -> list[str]:
    """A line on how clearly the views single out the labeling (the seeds' stability), shown
    prominently when they do not."""
    from hume.search.search_runs.run_readers import run_reproducibility

    if run_dir is None or not (run_dir / "seeds.npz").is_file():
        return []
    rep = run_reproducibility(run_dir)
    css = "meta" if rep["level"] == "strong" else "warning"
    return [
        f'<p class="{css}" id="reproducibility"><b>{html.escape(rep["level"])}</b>: the seeds\' '
        f"stability is {rep['stability']:.3f}; {html.escape(rep['message'])}.</p>"
    ]


def _choices(run_dir: Path | None) -> list[str]:
    """Lines on the run's choices made without labels: the ensemble kept (a tie said as one,
    prominently) and K's margin over the runner-up (a tie: "K is 10 or 12: see both")."""
    from hume.core.files import read_json
    from hume.runs import CHOICE, CONFIG, load_config
    from hume.search.k_choice.choice_files import margin_text
    from hume.search.selection.ensembling import choice_text

    if run_dir is None or not (run_dir / CONFIG).is_file():
        return []
    lines = []
    hyper = load_config(run_dir).hyperparameters
    said = choice_text(hyper)
    if said:
        css = "warning" if hyper.get("ensemble_tie") else "meta"
        lines.append(f'<p class="{css}" id="ensemble-choice">Ensemble: {html.escape(said)}.</p>')
    if (run_dir / CHOICE).is_file():
        choice = read_json(run_dir / CHOICE)
        said = margin_text(choice)
        if said:
            css = "warning" if choice.get("tie") else "meta"
            lines.append(f'<p class="{css}" id="k-choice">{html.escape(said)}.</p>')
    return lines


def _picks(order: np.ndarray, most: int, least: int) -> tuple[np.ndarray, np.ndarray]:
    """Of a class's rows ``order``, least confident first (confidence, then margin, decides):
    its ``most`` most confident, most confident first, and up to ``least`` of the others, least
    confident first."""
    top = order[::-1][:most]
    bottom = order[: max(0, min(least, len(order) - len(top)))]
    return top, bottom


def _keys_of(review: Review, listed: np.ndarray) -> dict[int, str]:
    """Row -> its key (as corrections name it), for the rows ``listed`` (sorted) only."""
    rows = review.rows
    offsets = np.cumsum([0] + [len(part) for part in rows.parts])
    parts = np.searchsorted(offsets, listed, side="right") - 1
    return {int(r): review.key_of(int(p), int(r - offsets[p])) for r, p in zip(listed, parts)}


def write_gallery(
    rows: RunRows,
    out_html: str | os.PathLike,
    thumbs_dir: str | os.PathLike,
    run_dir: str | os.PathLike | None = None,
    reporter: Reporter = SILENT,
) -> list[Path]:
    """Write ``out_html`` and its thumbnails into ``thumbs_dir``; returns the paths written."""
    out_html, thumbs_dir = Path(out_html), Path(thumbs_dir)
    run_path = Path(run_dir) if run_dir is not None else None
    labels, conf, margin = rows.column("labels"), rows.column("confidence"), rows.column("margin")
    truth = rows.column("true_labels")
    part_of = np.concatenate([np.full(len(p), i) for i, p in enumerate(rows.parts)])
    row_in = np.concatenate([np.arange(len(p)) for p in rows.parts])
    sources, notes = [], []
    for p in rows.parts:
        source, why = image_source(p)
        sources.append(source)
        if why:
            notes.append(f"no thumbnails for {p.dataset}/{p.split}: {why}")
    per_class = max(2, min(MOST + LEAST, MAX_THUMBNAILS // max(rows.k, 1)))
    most = max(1, round(per_class * MOST / (MOST + LEAST)))
    least = per_class - most
    thumbs_dir.mkdir(parents=True, exist_ok=True)
    rel_thumbs = os.path.relpath(thumbs_dir, out_html.parent)
    summaries = class_summaries(rows)
    names = rows.class_names or []
    order = np.lexsort((margin, conf, labels))  # by class, least confident first
    bounds = np.searchsorted(labels[order], np.arange(rows.k + 1))
    picks_of = {
        e["class"]: _picks(order[bounds[e["class"]] : bounds[e["class"] + 1]], most, least)
        for e in summaries
    }
    shown = np.concatenate([np.concatenate(p) for p in picks_of.values()] or [np.empty(0)])
    listed = listed_rows(rows, shown.astype(np.int64))
    review = Review(rows)
    keys = _keys_of(review, listed)
    written: list[Path] = []
    sections: list[str] = []
    failed = 0
    with reporter.task("gallery", total=len(summaries), unit="class") as task:
        for entry in summaries:
            c = entry["class"]
            top, bottom = picks_of[c]
            grids = []
            for title, picks in (("most confident", top), ("least confident", bottom)):
                figs = []
                for r in picks:
                    part, i = int(part_of[r]), int(row_in[r])
                    src = sources[part]
                    name = f"{rows.parts[part].split}-{i}.jpg"
                    img_tag = ""
                    if src is not None:
                        try:
                            path = _thumbnail(src(i), thumbs_dir / name)
                            written.append(path)
                            img_tag = f'<img loading="lazy" src="{html.escape(rel_thumbs)}/{name}" alt="">'
                        except Exception:  # noqa: BLE001 - one unreadable image: no thumbnail
                            failed += 1
                    where = rows.parts[part].paths
                    tip = where[i] if where is not None else f"{rows.parts[part].split} row {i}"
                    true = ""
                    if truth[r] >= 0 and names:
                        true = f" · true {html.escape(names[truth[r]])}"
                    figs.append(
                        f'<figure title="{html.escape(tip)}" data-key="{html.escape(keys[r])}">'
                        f"{img_tag}<figcaption>"
                        f"{conf[r]:.2f} / {margin[r]:.2f}{true}</figcaption></figure>"
                    )
                if figs:
                    grids.append(
                        f'<div class="label">{title}</div><div class="grid">'
                        + "".join(figs)
                        + "</div>"
                    )
            meta = [
                counted(entry["size"], "row"),
                f"confidence {entry['confidence'].get('mean', 0):.2f}",
                f"margin {entry['margin'].get('mean', 0):.2f}",
            ]
            if "true_class" in entry:
                meta.append(
                    f"matched true class <b>{html.escape(str(entry['true_class']))}</b>, "
                    f"accuracy {percent_text(entry.get('true_share'))} % (of its labelled rows)"
                )
            sections.append(
                f'<section class="class" id="{html.escape(entry["name"])}" data-class="{c}">'
                f'<h2>{html.escape(entry["name"])}</h2><div class="review-controls"></div>'
                f'<div class="meta">{" · ".join(meta)}</div>{"".join(grids)}</section>'
            )
            task.advance(1)
    if failed:
        notes.append(f"{failed} thumbnails could not be made (unreadable images)")
    for note in notes:
        logger.info(note)
    data = review_data(rows, out_html, keys, listed, review)
    page = _page(rows, summaries, sections, notes, run_path, data)
    write_text(out_html, page)
    return [out_html, *written]


def write_run_gallery(
    run_dir: str | os.PathLike, root: str | os.PathLike | None = None, reporter: Reporter = SILENT
) -> Path:
    """``<run>/report.html`` (thumbnails in ``<run>/thumbnails/``): the gallery of a finished
    run, with its evaluation when there is one. ``hume evaluate`` writes it."""
    from hume.export.rows import run_rows

    run_dir = Path(run_dir)
    rows = run_rows(run_dir, root)
    return write_gallery(
        rows, run_dir / "report.html", run_dir / "thumbnails", run_dir, reporter=reporter
    )[0]


def _thumbnail(img: Any, path: Path) -> Path:
    from PIL import Image

    img = img.convert("RGB")
    scale = THUMB_SIDE / max(img.size)
    if scale > 1:  # tiny images (digits) are enlarged without blurring
        img = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
            Image.Resampling.NEAREST,
        )
    else:
        img.thumbnail((THUMB_SIDE, THUMB_SIDE))
    img.save(path, "JPEG", quality=85)
    return path


def _page(
    rows: RunRows,
    summaries: list[dict[str, Any]],
    sections: list[str],
    notes: list[str],
    run_dir: Path | None,
    review: str,
) -> str:
    n_parts = ", ".join(f"{p.dataset}/{p.split} ({len(p)})" for p in rows.parts)
    figures = _figures(run_dir)
    index = [
        "<table><tr><th>class</th><th>rows</th><th>confidence</th><th>margin</th>"
        + ("<th>matched true class</th><th>accuracy (%)</th>" if rows.has_truth else "")
        + "</tr>"
    ]
    for e in summaries:
        cells = [
            f'<a href="#{html.escape(e["name"])}">{html.escape(e["name"])}</a>',
            str(e["size"]),
            f"{e['confidence'].get('mean', 0):.2f}",
            f"{e['margin'].get('mean', 0):.2f}",
        ]
        if rows.has_truth:
            cells += [html.escape(str(e.get("true_class", "–"))), percent_text(e.get("true_share"))]
        index.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    index.append("</table>")
    body = [
        f"<h1>Classes found by run {html.escape(rows.run)}</h1>",
        f'<p class="meta">{rows.method.upper()}, K = {rows.k}, {rows.n_rows} rows: '
        f"{html.escape(n_parts)}. Under each image: confidence (the share of seeds that agree "
        "with its class) / margin (how clearly the selected seed's encoder decides it); both in "
        "[0, 1]. Hover an image for its file.</p>",
        *_reproducibility(run_dir),
        *_choices(run_dir),
        *[f'<p class="note">{html.escape(n)}</p>' for n in notes],
        *_evaluation(run_dir, rows.has_truth),
        "<h2>Classes</h2>",
        *index,
        '<p class="meta">Review: name a class, merge it into another or split it into parts, '
        "or click images (and rows of a class's full list) to select them and move them to "
        "another class or confirm them in theirs; then save corrections.json and apply it with "
        "<code>hume export --corrections corrections.json</code> (with a split, by a new "
        "search: <code>hume label FOLDER --corrections corrections.json</code>). Work in "
        "progress stays in this browser.</p>",
        '<div id="review-bar"></div><details id="review-json"><summary>corrections.json '
        '(what save writes)</summary><textarea id="corrections-json" readonly></textarea>'
        "</details>",
        *sections,
        *(["<h2>Figures</h2>", *figures] if figures else []),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>hume: {html.escape(rows.run)}</title><style>{_CSS}{REVIEW_CSS}</style></head>"
        "<body>"
        + "\n".join(body)
        + f'<script type="application/json" id="hume-review-data">{review}</script>'
        + f"<script>{REVIEW_JS}</script></body></html>\n"
    )
