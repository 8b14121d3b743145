"""The final model's candidate choice and its accuracy figures, against hand-computed values."""

import json

import numpy as np
import pytest

from hhnas.final.evaluation import per_class_accuracy, split_metrics, topk_accuracy
from hhnas.final.selection import rank_candidates, select_candidates


def _rec(exp, it, val, status="ok", test=0.5):
    return {"experiment": exp, "iteration": it, "val_acc": val, "test_acc": test, "status": status}


def test_ranking_is_by_validation_then_earlier_experiment_then_iteration():
    recs = [
        _rec(2, 1, 0.80),
        _rec(1, 7, 0.90),
        _rec(1, 3, 0.90),
        _rec(1, 0, 0.95, status="failed"),  # a failure never wins, whatever it records
        _rec(2, 0, 0.90, test=0.99),  # test accuracy plays no part
    ]
    ranked = rank_candidates(recs)
    assert [(r["experiment"], r["iteration"]) for r in ranked] == [(1, 3), (1, 7), (2, 0), (2, 1)]


def test_select_reads_metrics_files_and_takes_the_top_k(tmp_path):
    paths = []
    for i, val in enumerate([0.7, 0.9, 0.8]):
        p = tmp_path / f"metrics_{i}.json"
        p.write_text(json.dumps(_rec(1, i, val)))
        paths.append(str(p))
    assert [r["iteration"] for r in select_candidates(paths, 2)] == [1, 2]
    assert [r["iteration"] for r in select_candidates(paths)] == [1]
    # A pool larger than the search: every successful candidate, best first.
    assert [r["iteration"] for r in select_candidates(paths, 20)] == [1, 2, 0]
    with pytest.raises(ValueError, match="final.ensemble.candidates"):
        select_candidates(paths, 0)


def test_no_successful_candidate_is_an_error_that_says_so(tmp_path):
    p = tmp_path / "metrics_0.json"
    p.write_text(json.dumps(_rec(1, 0, 0.0, status="failed")))
    with pytest.raises(ValueError, match="no successful candidate among 1 metrics files"):
        select_candidates([str(p)])


PROBS = np.array(
    [
        [0.6, 0.3, 0.1],  # label 0: top-1 right
        [0.5, 0.4, 0.1],  # label 1: second
        [0.2, 0.3, 0.5],  # label 0: third
        [0.1, 0.1, 0.8],  # label 2: right
    ]
)
LABELS = np.array([0, 1, 0, 2])


def test_topk_accuracy_by_hand():
    assert topk_accuracy(PROBS, LABELS, 1) == 0.5
    assert topk_accuracy(PROBS, LABELS, 2) == 0.75
    assert topk_accuracy(PROBS, LABELS, 3) == 1.0


def test_topk_ties_break_like_argmax():
    probs = np.array([[0.5, 0.5, 0.0]])
    # argmax takes class 0; top-1 must agree, so label 1 is a miss at k=1 and a hit at k=2.
    assert topk_accuracy(probs, np.array([1]), 1) == 0.0
    assert topk_accuracy(probs, np.array([1]), 2) == 1.0


def test_per_class_accuracy_by_hand():
    out = per_class_accuracy(PROBS, LABELS, ["a", "b", "c"])
    assert out == [
        {"class": "a", "rows": 2, "accuracy": 0.5},
        {"class": "b", "rows": 1, "accuracy": 0.0},
        {"class": "c", "rows": 1, "accuracy": 1.0},
    ]
    metrics = split_metrics(PROBS, LABELS, ["a", "b", "c"])
    assert metrics["rows"] == 4 and metrics["accuracy"] == 0.5
    assert metrics["top3_accuracy"] == 1.0
