"""Published numbers of the HUME and TURTLE papers, shown beside measurements, never mixed.

Values are ACC / ARI ×100 as printed by the HUME paper and poster (NeurIPS 2023) and, for
TURTLE, its paper (ICML 2024). Each entry names the backbones the authors used, which are NOT
the views of a run: a reader must compare like with like.
"""

from __future__ import annotations

from typing import Any

SOURCE = "HUME, Gadetsky & Brbić, NeurIPS 2023 (paper/poster); TURTLE, ICML 2024"

_HUME_BACKBONES = (
    "φ1 MoCo v2 self-supervised on the dataset; φ2 a large pretrained model "
    "(the official recipe: DINOv2)"
)
_PROBE_BACKBONES = "MoCo v2 self-supervised features (the HUME paper's φ1), true labels"
_OWN = "own self-supervised backbone trained on the dataset"

#: method, backbones, setting, then {dataset: (ACC, ARI)} ×100.
_ROWS: list[tuple[str, str, str, dict[str, tuple[float, float]]]] = [
    (
        "supervised linear probe",
        _PROBE_BACKBONES,
        "supervised",
        {"stl10": (88.9, 77.7), "cifar10": (89.5, 79.0), "cifar100-20": (72.5, 52.6)},
    ),
    (
        "SCAN",
        _OWN,
        "inductive",
        {
            "stl10": (77.8, 61.3),
            "cifar10": (83.3, 70.5),
            "cifar100-20": (45.4, 29.7),
            "imagenet": (39.7, 27.9),
        },
    ),
    (
        "SPICE",
        _OWN,
        "inductive",
        {"stl10": (86.2, 73.2), "cifar10": (84.5, 70.9), "cifar100-20": (46.8, 32.1)},
    ),
    ("Twist", _OWN, "inductive", {"imagenet": (40.6, 30.0)}),
    ("Self-classifier", _OWN, "inductive", {"imagenet": (41.1, 29.5)}),
    (
        "HUME",
        _HUME_BACKBONES,
        "inductive",
        {
            "stl10": (90.8, 81.2),
            "cifar10": (88.4, 77.6),
            "cifar100-20": (55.5, 37.7),
            "imagenet": (51.1, 38.1),
        },
    ),
    (
        "HUME",
        _HUME_BACKBONES,
        "transductive",
        {"stl10": (93.2, 86.0), "cifar10": (89.2, 79.2), "cifar100-20": (56.7, 39.6)},
    ),
    ("TURTLE", "CLIP ViT-L/14 + DINOv2 ViT-g/14", "transductive", {"cifar10": (99.5, 98.9)}),
]


def paper_dataset(dataset: str) -> str | None:
    """The paper dataset (cifar10, cifar100-20, stl10, imagenet) a run's dataset is, or None."""
    from hume.core.names import canonical_dataset

    key = canonical_dataset(dataset).lower()
    return key if any(key in vals for *_, vals in _ROWS) else None


def paper_numbers(dataset: str) -> dict[str, Any] | None:
    """The published rows for ``dataset`` (fractions in [0, 1], as report.json keeps them)."""
    key = paper_dataset(dataset)
    if key is None:
        return None
    rows = [
        {
            "method": method,
            "backbones": backbones,
            "setting": setting,
            "acc": round(vals[key][0] / 100, 4),
            "ari": round(vals[key][1] / 100, 4),
        }
        for method, backbones, setting, vals in _ROWS
        if key in vals
    ]
    return {
        "dataset": key,
        "source": SOURCE,
        "note": "published numbers with the authors' backbones, not measured by this run",
        "rows": rows,
    }
