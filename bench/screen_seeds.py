"""Would fewer seeds make a screen cheap enough (issue 33)? The kept screens of the fast scans of
``bench/label_cost.py --work DIR`` (6 seeds each) are measured again from their first n seeds:
where the climb over K would stop, and which screens would rank first, beside the K and φ1 the
searches in full chose. No search is run and no label is read.

    python bench/screen_seeds.py --work /tmp/labelcost-work --json bench/screen_seeds.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SEEDS = (6, 4, 3, 2)


def replay(choice_dir: Path, seeds: tuple[int, ...] = SEEDS) -> dict:
    """The climb's stop and the top screens of one fast scan, from the first n seeds of each
    kept screen, for each n of ``seeds``."""
    import torch

    from hume.search.k_choice.climbing import climb_over
    from hume.search.selection.choice_signals import consensus_kind, measure, ranked
    from hume.search.selection.consensus import consensus

    choice = json.loads((choice_dir / "choice.json").read_text())
    kept = {}
    for f in sorted((choice_dir / "screens").glob("*.npz")):
        with np.load(f) as z:
            meta = json.loads(str(z["meta"]))
            kind = consensus_kind(meta.get("ensemble"))  # as the screen measured it
            kept[(meta["k"], meta["order"][0])] = (z["seed_labels"], kind)
    first = choice["candidates"][0]["phi1"]
    out = {
        "chosen": [choice["k"], choice["phi1"]],
        "full": [[c["k"], c["phi1"], c["criterion"]] for c in choice["candidates"]
                 if c["searched"] == "full"],
        "by_seeds": {},
    }  # fmt: skip
    for n in seeds:
        cands = {}
        for (k, phi1), (labelings, kind) in kept.items():
            labels = consensus(torch.as_tensor(labelings[:n]), k, kind, 0).numpy()
            cands[(k, phi1)] = measure(
                {"k": k, "phi1": phi1}, labelings[:n], None, None, labels, kind
            )
        climb = sorted(key for key in cands if key[1] == first)
        stop = next(
            (climb[i - 1][0] for i in range(1, len(climb) + 1)
             if climb_over([cands[key] for key in climb[:i]])),
            None,
        )  # fmt: skip
        top = ranked(list(cands.values()))[:3]
        out["by_seeds"][str(n)] = {
            "climb_stops_at": stop,
            "screened_to": climb[-1][0],
            "top": [[c.setting["k"], c.setting["phi1"], round(c.criterion, 3)] for c in top],
        }
    return out


def section(result: dict) -> str:
    """The markdown section of bench/RESULTS.md from this benchmark's JSON."""
    counts = list(next(iter(result["rows"].values()))["by_seeds"]) if result["rows"] else []
    lines = [
        "## Fewer seeds per screen (`bench/screen_seeds.py`)",
        "",
        f"`{result['command']}` (x86_64 CPU, no search run: the kept screens of the fast scans of"
        " `bench/label_cost.py`, 6 seeds each, measured again from their first n seeds). Per seed"
        " count: the K at which the climb over K would stop (— : not within the K screened, so"
        " it would climb further) and the screen that would rank first, beside the K and φ1 the"
        " searches in full chose.",
        "",
        "| dataset | chosen in full | "
        + " | ".join(f"{n} seeds: stop, first" for n in counts)
        + " |",
        "|---|---|" + "---|" * len(counts),
    ]
    for name, row in result["rows"].items():
        cells = []
        for n in counts:
            seen = row["by_seeds"][n]
            stop = "—" if seen["climb_stops_at"] is None else str(seen["climb_stops_at"])
            k, phi1, _ = seen["top"][0]
            cells.append(f"{stop}, {k} {phi1}")
        k, phi1 = row["chosen"]
        lines.append(f"| {name} | {k} {phi1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="bench/label_cost.py's --work folder")
    ap.add_argument("--json", default="bench/screen_seeds.json")
    ap.add_argument("--results", default=None, help="write the section into this RESULTS.md")
    args = ap.parse_args(argv)
    rows = {}
    for run in sorted(Path(args.work).glob("*/runs/choice-fast")):
        if (run / "choice.json").is_file():
            rows[run.parents[1].name] = replay(run)
            print(run.parents[1].name, json.dumps(rows[run.parents[1].name]), flush=True)
    result = {"command": f"python bench/screen_seeds.py --work {args.work}", "rows": rows}
    Path(args.json).write_text(json.dumps(result, indent=1))
    if args.results:
        from search_speed import write_section

        write_section(args.results, "screen-seeds", section(result))


if __name__ == "__main__":
    main()
