"""Figures of the evaluate stage are written as non-empty PNGs in every shape they meet."""

import numpy as np
import pytest

from hume.evaluate.figures import class_sizes_figure, confusion_figure, score_vs_accuracy_figure
from hume.evaluate.metrics import matched_confusion

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


@pytest.mark.parametrize(
    "k_true,k_pred,names", [(3, 5, ["a", "b", "c"]), (4, 2, None), (60, 60, None)]
)
def test_confusion_and_sizes_for_any_number_of_clusters(tmp_path, k_true, k_pred, names):
    rng = np.random.default_rng(0)
    y = rng.integers(0, k_true, 400)
    pred = rng.integers(0, k_pred, 400)
    conf = matched_confusion(y, pred, n_classes=k_true)
    out = confusion_figure(conf.matrix, conf.clusters, tmp_path / "f" / "c.png", names)
    assert _is_png(out)
    sizes = class_sizes_figure(
        conf.matrix.sum(axis=0), tmp_path / "s.png", true=conf.matrix.sum(axis=1), class_names=names
    )
    assert _is_png(sizes)


def test_score_vs_accuracy_with_and_without_a_correlation(tmp_path):
    a = score_vs_accuracy_figure(
        [0.1, 0.5, 0.9], [0.2, 0.4, 0.8], tmp_path / "a.png", 1.0, selected=2, ensemble_acc=0.85
    )
    b = score_vs_accuracy_figure([0.3], [0.5], tmp_path / "b.png", None)
    assert _is_png(a) and _is_png(b)


def test_class_sizes_without_ground_truth(tmp_path):
    assert _is_png(class_sizes_figure([5, 0, 12, 3], tmp_path / "n.png"))
