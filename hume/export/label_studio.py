"""Label Studio round trip: the rows as tasks to review, and the reviewed export read back.

``--format label-studio`` writes ``tasks.json``, a JSON list with one task per row::

    {"data": {"image": IMAGE, "path": PATH, "split": SPLIT},
     "predictions": [{"model_version": RUN, "score": CONFIDENCE, "result": [{"id": …,
       "from_name": "class", "to_name": "image", "type": "choices",
       "value": {"choices": [CLASS NAME]}}]}]}

(IMAGE: the file's absolute path, or ``--image-root`` + the quoted relative path), and
``labeling_config.xml``, a single-choice ``Choices`` over the class names. Label Studio's JSON
export of the reviewed project (a list of tasks, each with ``annotations[].result[]`` and the
task's ``data``) reads back as moves (:func:`read_label_studio`): the row by ``data.path`` and
``data.split`` (else by the end of ``data.image``), the class by its name, the last annotation
of a task that is neither cancelled nor empty; an annotation equal to the task's prediction
changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

from hume.core.errors import HumeError
from hume.core.files import write_json, write_text
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
            "this run's stores name no files: --format label-studio needs an imagefolder "
            "dataset; use --format csv"
        )
    write_json(out / TASKS, tasks(rows, image_root))
    write_text(out / CONFIG, labeling_config(rows))
    return [out / TASKS, out / CONFIG]


def is_label_studio_export(data: Any) -> bool:
    """Whether JSON ``data`` is a list of Label Studio tasks (objects with ``data``)."""
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(t, dict) and "data" in t for t in data)
    )


def _choices(result: Any) -> list[str]:
    """The choices of an annotation's or prediction's ``result`` list."""
    out: list[str] = []
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and item.get("type") == "choices":
            value = item.get("value") or {}
            out += [str(v) for v in value.get("choices") or []]
    return out


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
    """A Label Studio JSON export as moves, checked against ``review``'s rows and names."""
    if not any("annotations" in t for t in data):
        raise HumeError(
            f"{source} holds Label Studio tasks without annotations (the {TASKS} an export "
            "wrote?): review them in Label Studio, export the project as JSON and pass that file"
        )
    out = Corrections(source, kind="label-studio")
    counts = {"reviewed": 0, "cancelled": 0, "empty": 0, "unreviewed": 0, "kept": 0}
    for n, task in enumerate(data):
        where = _row(task, review)
        if where is None:
            image = (task.get("data") or {}).get("image")
            raise HumeError(
                f"{source}: task {task.get('id', n)} ({str(image)[:80]!r}) shows no image of "
                f"this export: pass the Label Studio export of the tasks this run's "
                f"--format label-studio wrote"
            )
        chosen = None
        for annotation in task.get("annotations") or []:
            picks = _choices(annotation.get("result")) if isinstance(annotation, dict) else []
            if isinstance(annotation, dict) and annotation.get("was_cancelled"):
                counts["cancelled"] += 1
            elif not picks:
                counts["empty"] += 1
            elif len(picks) > 1:
                raise HumeError(
                    f"{source}: task {task.get('id', n)} chooses {len(picks)} classes "
                    f"({', '.join(picks)}): choose one per image"
                )
            else:
                chosen = picks[0]  # the last annotation that chose a class
        if chosen is None:
            counts["unreviewed"] += 1
            continue
        counts["reviewed"] += 1
        predicted = [
            _choices(p.get("result")) for p in task.get("predictions") or [] if isinstance(p, dict)
        ]
        if predicted and predicted[0] == [chosen]:
            counts["kept"] += 1
            continue
        c = review.class_of_name(chosen)
        if c is None:
            known = ", ".join(review.name_of(t) for t in review.live())
            raise HumeError(
                f"{source}: task {task.get('id', n)} chooses {chosen!r}, which names no class "
                f"(the classes: {known}): pass the same --corrections before it as when the "
                "tasks were exported"
            )
        out.moves[review.key_of(*where)] = c
    skipped = counts["cancelled"] + counts["empty"]
    out.note = (
        f"{counts['reviewed']} of {len(data)} tasks reviewed, {counts['kept']} kept the "
        f"predicted class; {skipped} annotations skipped ({counts['cancelled']} cancelled, "
        f"{counts['empty']} empty)"
    )
    return out
