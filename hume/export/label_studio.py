"""Label Studio round trip: the rows as tasks to review, and the reviewed export read back.

``--format label-studio`` writes ``tasks.json``, a JSON list with one task per row::

    {"data": {"image": IMAGE, "path": PATH, "split": SPLIT},
     "predictions": [{"model_version": RUN, "score": CONFIDENCE, "result": [{"id": …,
       "from_name": "class", "to_name": "image", "type": "choices",
       "value": {"choices": [CLASS NAME]}}]}]}

(IMAGE: the file's absolute path, or ``--image-root`` + the quoted relative path), and
``labeling_config.xml``, a single-choice ``Choices`` over the class names. Label Studio's JSON
export of the reviewed project (a list of tasks, each with the task's ``data``, its
``annotations[]`` with their ``result[]`` and the ``prediction`` object shown when annotating,
and ``predictions`` as ids) reads back as anchors (:func:`read_label_studio`): the row by
``data.path`` and ``data.split`` (else by the end of ``data.image``), the class by its name, the
last annotation of a task that is neither cancelled nor empty. A task that kept the class its
prediction showed confirms the row in the class it is in now (after the files before it), one
given another class moves the row there. JSON-MIN exports (no predictions) are refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

from hume.core.errors import HumeError, setting
from hume.core.files import write_json, write_text
from hume.core.reporting import counted
from hume.export.corrections import Corrections, Review
from hume.export.rows import RunRows
from hume.export.tables import class_name

TASKS = "tasks.json"
CONFIG = "labeling_config.xml"
FROM_NAME, TO_NAME = "class", "image"


def image_ref(root: str | None, rel: str, image_root: str | None) -> str:
    """What ``data.image`` holds for the file ``rel`` under the embedded folder ``root``."""
    if image_root is None:
        return os.path.abspath(Path(root or ".") / rel)
    joiner = "" if image_root.endswith(("/", "=")) else "/"
    return f"{image_root}{joiner}{quote(rel, safe='/')}"


def labeling_config(rows: RunRows) -> str:
    """The labeling configuration: the image and one single choice among the live classes."""
    choices = "\n".join(
        f"    <Choice value={quoteattr(class_name(rows, c))}/>" for c in rows.live_classes()
    )
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def tasks(rows: RunRows, image_root: str | None = None) -> list[dict[str, Any]]:
    """One task per row, the run's class as its prediction (needs rows with files)."""
    names = {c: class_name(rows, c) for c in range(rows.k)}
    out: list[dict[str, Any]] = []
    for part in rows.parts:
        assert part.paths is not None
        for i, (rel, c) in enumerate(zip(part.paths, part.labels)):
            result = {
                "id": f"hume-{len(out)}",
                "from_name": FROM_NAME,
                "to_name": TO_NAME,
                "type": "choices",
                "value": {"choices": [names[int(c)]]},
            }
            out.append(
                {
                    "data": {
                        "image": image_ref(part.source_root, rel, image_root),
                        "path": rel,
                        "split": part.split,
                    },
                    "predictions": [
                        {
                            "model_version": rows.run,
                            "score": round(float(part.confidence[i]), 4),
                            "result": [result],
                        }
                    ],
                }
            )
    return out


def write_label_studio(rows: RunRows, out: Path, image_root: str | None = None) -> list[Path]:
    """``out/tasks.json`` and ``out/labeling_config.xml``; returns both paths."""
    if not rows.has_paths:
        raise HumeError(
            f"this run's stores name no files: {setting('formats', 'label-studio')} needs an "
            f"imagefolder dataset; use {setting('formats', 'csv')}"
        )
    write_json(out / TASKS, tasks(rows, image_root))
    write_text(out / CONFIG, labeling_config(rows))
    return [out / TASKS, out / CONFIG]


def is_label_studio_export(data: Any) -> bool:
    """Whether JSON ``data`` is a list of Label Studio tasks (objects with ``data``), or one of
    its other exports' rows (JSON-MIN: flat objects with ``annotation_id``), which
    :func:`read_label_studio` refuses by name."""
    if not isinstance(data, list) or not data or not all(isinstance(t, dict) for t in data):
        return False
    return all("data" in t for t in data) or any("annotation_id" in t for t in data)


def _choices(result: Any) -> list[str]:
    """The choices of an annotation's or prediction's ``result`` list."""
    out: list[str] = []
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and item.get("type") == "choices":
            value = item.get("value") or {}
            out += [str(v) for v in value.get("choices") or []]
    return out


def _shown(task: dict[str, Any], annotation: dict[str, Any]) -> list[str] | None:
    """The choices of the prediction the reviewer saw with ``annotation``, or None where the
    export does not hold it.

    Label Studio's JSON export lists the task's ``predictions`` as ids and keeps the prediction
    object shown at the time of annotation in ``annotations[].prediction`` (``{}`` when none
    was shown); ``predictions`` are objects only in tasks as imported (or exported with them
    expanded): then the one the annotation started from (``parent_prediction``), else the first.
    """
    seen = annotation.get("prediction")
    if isinstance(seen, dict) and seen.get("result"):
        return _choices(seen["result"])
    objects = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    parent = annotation.get("parent_prediction")
    for p in objects:
        if parent is not None and p.get("id") == parent:
            return _choices(p.get("result"))
    return _choices(objects[0].get("result")) if objects else None


def _row(task: dict[str, Any], review: Review) -> tuple[int, int] | None:
    """The row a task shows: by the path hume wrote into its data, else by its image's end."""
    data = task.get("data") or {}
    path, split = data.get("path"), data.get("split")
    if isinstance(path, str):
        return review.locate(path, split if isinstance(split, str) else None)
    image = unquote(str(data.get("image", "")))
    starts = [0] + [j + 1 for j, ch in enumerate(image) if ch in "/="]
    for j in starts:  # the longest end of the reference that is a row's path
        found = review.locate(image[j:])
        if found is not None:
            return found
    return None


def read_label_studio(data: list[dict[str, Any]], source: str, review: Review) -> Corrections:
    """A Label Studio JSON export as anchors, checked against ``review``'s rows and names: a
    reviewed task that kept the class it showed confirms its row where it is now (after the
    files before this one), one given another class moves its row there."""
    if not all("data" in t for t in data):
        raise HumeError(
            f"{source} is Label Studio's JSON-MIN export, which leaves out the predictions "
            "the reviewers saw: export the project as JSON (not JSON-MIN or CSV) and pass that "
            "file"
        )
    if not any("annotations" in t for t in data):
        raise HumeError(
            f"{source} holds Label Studio tasks without annotations (the {TASKS} an export "
            "wrote?): review them in Label Studio, export the project as JSON and pass that file"
        )
    out = Corrections(source, kind="label-studio")
    counts = {"reviewed": 0, "cancelled": 0, "empty": 0, "kept": 0}
    decided: dict[tuple[int, int], tuple[int, Any]] = {}  # row -> (class it ends in, task)
    for n, task in enumerate(data):
        name = task.get("id", n)
        where = _row(task, review)
        if where is None:
            image = (task.get("data") or {}).get("image")
            raise HumeError(
                f"{source}: task {name} ({str(image)[:80]!r}) shows no image of "
                f"this export: pass the Label Studio export of the tasks this run's "
                f"{setting('formats', 'label-studio')} wrote"
            )
        chosen: tuple[str, dict[str, Any]] | None = None
        for annotation in task.get("annotations") or []:
            if not isinstance(annotation, dict):
                continue
            picks = _choices(annotation.get("result"))
            if annotation.get("was_cancelled"):
                counts["cancelled"] += 1
            elif not picks:
                counts["empty"] += 1
            elif len(picks) > 1:
                raise HumeError(
                    f"{source}: task {name} chooses {len(picks)} classes "
                    f"({', '.join(picks)}): choose one per image"
                )
            else:
                chosen = picks[0], annotation  # the last annotation that chose a class
        if chosen is None:
            continue
        pick, annotation = chosen
        counts["reviewed"] += 1
        c = review.class_of_name(pick)
        if c is None:
            known = ", ".join(review.name_of(t) for t in review.live())
            raise HumeError(
                f"{source}: task {name} chooses {pick!r}, which names no class "
                f"(the classes: {known}): pass the same {setting('corrections')} before it as "
                "when the tasks were exported"
            )
        p, i = where
        now = int(review.labels[p][i])
        shown = _shown(task, annotation)
        # kept what it showed, or (no prediction in the export) the class the row is in now
        kept = shown == [pick] if shown is not None else c == now
        end = now if kept else c
        if where in decided:
            if decided[where][0] != end:
                raise HumeError(
                    f"{source}: tasks {decided[where][1]} and {name} show the same image "
                    f"({review.key_of(p, i)!r}) and give it different classes: keep one task "
                    "per image (a synced storage adds a second task for each image; delete "
                    "those) and export again"
                )
            continue
        decided[where] = (end, name)
        counts["kept"] += int(kept)
        if kept:
            out.confirm.append(review.key_of(p, i))
        else:
            out.moves[review.key_of(p, i)] = c
    skipped = counts["cancelled"] + counts["empty"]
    out.note = (
        f"{counts['reviewed']} of {counted(len(data), 'task')} reviewed, {counts['kept']} kept "
        f"the predicted class; {counted(skipped, 'annotation')} skipped "
        f"({counts['cancelled']} cancelled, {counts['empty']} empty)"
    )
    return out
