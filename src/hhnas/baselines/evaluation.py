"""Accuracy, the outcome of model selection, and the one place that reads test labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from hhnas.baselines.data import TestSplit
from hhnas.records import Params


class TfidfChoice(TypedDict):
    C: float


class RuleChoice(TypedDict):
    channel: str


class Model1Choice(TypedDict):
    macro: list[int]
    params: Params
    best_epoch: int | None


class TfidfDetails(TypedDict):
    val_by_c: dict[str, float]
    converged_by_c: dict[str, bool]
    n_features: int
    min_df: int


class RuleDetails(TypedDict):
    tie_break: str
    val_tied_rows: int


class Model1Details(TypedDict):
    model: int
    n_params: int | None
    val_by_epoch: list[float]
    train_seconds: float


# What each baseline chose on train/val (`selected`) and what it tells of the choice
# (`details`), as its result file records them.
Choice = TfidfChoice | RuleChoice | Model1Choice
Details = TfidfDetails | RuleDetails | Model1Details


class BaselineResult(TypedDict):
    """A baseline's result file (results/<dataset>/baselines/<name>.json)."""

    name: str
    val_acc: float
    test_acc: float
    seconds: float
    select_seconds: float
    selected: Choice
    seed: int
    n_train: int
    n_val: int
    n_test: int
    n_classes: int
    details: Details


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

    selected: Choice
    val_acc: float
    scorer: Callable[[TestSplit], float]
    details: Details = field(default_factory=dict)  # type: ignore[assignment]
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
