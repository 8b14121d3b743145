"""Accuracy, the outcome of model selection, and the one place that reads test labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hhnas.baselines.data import TestSplit


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``pred == y``; an empty split scores 0."""
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.shape != y.shape:
        raise ValueError(f"{pred.shape[0]} predictions for {y.shape[0]} labels")
    return float((pred == y).sum()) / max(1, y.shape[0])


@dataclass
class Selection:
    """What a baseline chose on train/val, and how to score that choice on the test split.

    ``scorer`` gets the :class:`TestSplit` and returns the test accuracy of the chosen model; it
    runs at most once (a second call raises), so nothing can be re-chosen after seeing the test.
    """

    selected: dict[str, Any]
    val_acc: float
    scorer: Callable[[TestSplit], float]
    details: dict[str, Any] = field(default_factory=dict)
    _scored: bool = field(default=False, repr=False)


def score_test(selection: Selection, test: TestSplit) -> float:
    """The test accuracy of a finished selection: the only function that reads test labels."""
    if selection._scored:
        raise RuntimeError("this selection was already scored on the test split")
    selection._scored = True
    acc = float(selection.scorer(test))
    if not 0.0 <= acc <= 1.0:
        raise ValueError(f"test accuracy {acc} is not a fraction in [0, 1]")
    return acc
