"""Greedy ensemble selection (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004, "Ensemble
selection from libraries of models"; AutoGluon's weighted ensemble): the weights of a pool of
models, chosen on validation alone.

Starting from the empty ensemble, each of ``rounds`` rounds adds one pool model, with
replacement, the one whose addition gives the weighted mean of the highest validation accuracy;
an accuracy tie goes to the lower validation log-loss, then to the earlier pool model. A model's
weight is the number of rounds that chose it over ``rounds``. Choosing with replacement lets a
strong model gain weight instead of forcing weaker ones in, and a model that never helps keeps
weight 0. The function is given validation probabilities and labels only: test labels cannot
enter the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Log-loss clips the true class's probability here: a model may give it exactly 0 (a class the
# TF-IDF model never saw), which would make every mixture containing it infinitely bad.
EPS = 1e-15


@dataclass(frozen=True)
class GreedySelection:
    """How often each pool model was chosen, and the validation accuracy after each round."""

    counts: tuple[int, ...]
    rounds: int
    val_accuracy_by_round: tuple[float, ...]

    @property
    def weights(self) -> np.ndarray:
        """``counts / rounds``: each a multiple of 1/rounds, together 1."""
        return np.asarray(self.counts, dtype=np.float64) / self.rounds


def correct(probs: np.ndarray, labels: np.ndarray) -> int:
    """Rows whose most probable class is the label (ties to the lower class, as argmax)."""
    return int((probs.argmax(axis=1) == labels).sum())


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the label, the probability clipped below at EPS."""
    p = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.maximum(p, EPS)).mean())


def _checked(
    val_probs: Sequence[np.ndarray], val_labels: np.ndarray, rounds: int
) -> tuple[list[np.ndarray], np.ndarray]:
    if rounds < 1:
        raise ValueError(f"final.ensemble.rounds must be >= 1, got {rounds}")
    if not val_probs:
        raise ValueError("ensemble selection needs at least one model in the pool")
    pool = [np.asarray(p, dtype=np.float64) for p in val_probs]
    labels = np.asarray(val_labels)
    shape = pool[0].shape
    if len(shape) != 2 or shape[0] == 0:
        raise ValueError(f"validation probabilities must be [rows > 0, classes], got {shape}")
    for i, p in enumerate(pool):
        if p.shape != shape:
            raise ValueError(f"pool model {i}: probabilities of shape {p.shape}, model 0 {shape}")
    if labels.shape != (shape[0],):
        raise ValueError(f"{labels.shape[0]} validation labels for {shape[0]} rows")
    if labels.min() < 0 or labels.max() >= shape[1]:
        raise ValueError(f"validation labels must lie in [0, {shape[1]}), got {labels.min()}..")
    return pool, labels


def greedy_selection(
    val_probs: Sequence[np.ndarray], val_labels: np.ndarray, rounds: int
) -> GreedySelection:
    """Weights of the pool models (``val_probs``: each ``[N, C]`` validation probabilities, in
    pool order) by greedy selection with replacement over ``rounds`` rounds."""
    pool, labels = _checked(val_probs, val_labels, rounds)
    n = len(labels)
    total = np.zeros_like(pool[0])
    counts = [0] * len(pool)
    by_round = []
    for size in range(1, rounds + 1):
        best: tuple[int, float, int] | None = None  # (-correct, log-loss, pool index)
        for i, p in enumerate(pool):
            mix = (total + p) / size
            key = (-correct(mix, labels), log_loss(mix, labels), i)
            if best is None or key < best:
                best = key
        assert best is not None
        total += pool[best[2]]
        counts[best[2]] += 1
        by_round.append(-best[0] / n)
    return GreedySelection(tuple(counts), rounds, tuple(by_round))


def ensemble_weights(
    method: str, val_probs: Sequence[np.ndarray], val_labels: np.ndarray, rounds: int
) -> tuple[np.ndarray, GreedySelection | None]:
    """`final.ensemble.method`'s weights of the pool: ``greedy`` (:func:`greedy_selection`,
    returned too) or ``mean`` (equal weights, every model kept)."""
    if method == "greedy":
        selection = greedy_selection(val_probs, val_labels, rounds)
        return selection.weights, selection
    if method == "mean":
        return np.full(len(val_probs), 1.0 / len(val_probs)), None
    raise ValueError(f"final.ensemble.method must be greedy or mean, got {method!r}")
