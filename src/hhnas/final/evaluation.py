"""Accuracy figures of a model's class probabilities: top-k and per class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np

# A class's rows and the share predicted right (functional form: `class` is a keyword).
ClassAccuracy = TypedDict("ClassAccuracy", {"class": str, "rows": int, "accuracy": float})


class SplitMetrics(TypedDict):
    """A split's figures in the final model's metrics.json."""

    rows: int
    accuracy: float
    top3_accuracy: float
    per_class: list[ClassAccuracy]


def topk_accuracy(probs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of rows whose label is among the ``k`` most probable classes. Ties between equal
    probabilities go to the lower class index, as ``argmax`` breaks them, so top-1 equals the
    accuracy of the argmax."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return float((order == labels[:, None]).any(axis=1).mean())


def per_class_accuracy(
    probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> list[ClassAccuracy]:
    """One entry per class with rows in ``labels``: its rows and the share predicted right."""
    labels = np.asarray(labels)
    pred = probs.argmax(axis=1)
    out = []
    for c, name in enumerate(class_names):
        rows = labels == c
        n = int(rows.sum())
        if n:
            out.append({"class": name, "rows": n, "accuracy": float((pred[rows] == c).mean())})
    return out


def split_metrics(
    probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> SplitMetrics:
    return {
        "rows": int(len(labels)),
        "accuracy": topk_accuracy(probs, labels, 1),
        "top3_accuracy": topk_accuracy(probs, labels, 3),
        "per_class": per_class_accuracy(probs, labels, class_names),
    }
