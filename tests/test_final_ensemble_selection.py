"""Greedy ensemble selection (hhnas.final.ensemble_selection) against hand-computed rounds, and
its properties: weights are multiples of 1/rounds summing to 1, the first round takes the best
single model, and the function sees validation data only."""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.final.ensemble_selection import (
    ensemble_weights,
    greedy_selection,
    log_loss,
)

LABELS = np.array([0, 0, 1, 1])
# A: rows 1-3 right (3/4), log-loss (ln 1/.9 + ln 1/.6 + ln 1/.45 + ln 1/.8) / 4 = 0.40946
A = np.array([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8]])
# B: rows 2-4 right (3/4), log-loss (ln 1/.4 + ln 1/.8 + ln 1/.7 + ln 1/.6) / 4 = 0.50173
B = np.array([[0.4, 0.6], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
# C: always class 1 (2/4)
C = np.array([[0.45, 0.55]] * 4)


def test_log_loss_by_hand():
    assert log_loss(A, LABELS) == pytest.approx(0.40946, abs=1e-5)
    assert log_loss(B, LABELS) == pytest.approx(0.50173, abs=1e-5)
    # A probability of 0 for the label is clipped at 1e-15, not infinite.
    assert log_loss(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-math.log(1e-15))


def test_three_rounds_by_hand():
    """Round 1: A and B tie at 3/4, A has the lower log-loss. Round 2: (A + B) / 2 gets all 4
    rows right ((A + A) / 2 = A and (A + C) / 2 get 3). Round 3: (2A + B) / 3, (A + 2B) / 3 and
    (A + B + C) / 3 all get 4/4; their log-losses are 0.41360, 0.44176 and 0.50530: A again.
    B comes first in the pool, so pool order alone would have chosen B in rounds 1 and 3."""
    sel = greedy_selection([B, A, C], LABELS, rounds=3)
    assert sel.counts == (1, 2, 0)
    assert sel.val_accuracy_by_round == (0.75, 1.0, 1.0)
    np.testing.assert_array_equal(sel.weights, [1 / 3, 2 / 3, 0.0])


def test_accuracy_before_log_loss():
    # D gets every row right, just: a log-loss of ln(1/.51) = 0.673, worse than A's 0.409.
    d = np.array([[0.51, 0.49], [0.51, 0.49], [0.49, 0.51], [0.49, 0.51]])
    assert greedy_selection([A, d], LABELS, rounds=1).counts == (0, 1)


def test_an_exact_tie_goes_to_the_earlier_pool_model():
    sel = greedy_selection([B, B.copy(), C], LABELS, rounds=4)
    assert sel.counts == (4, 0, 0)


def test_mean_weighs_every_model_alike():
    weights, selection = ensemble_weights("mean", [A, B, C], LABELS, rounds=7)
    np.testing.assert_array_equal(weights, [1 / 3] * 3)
    assert selection is None
    weights, selection = ensemble_weights("greedy", [A, B, C], LABELS, rounds=3)
    assert selection is not None and selection.counts == (2, 1, 0)
    with pytest.raises(ValueError, match="final.ensemble.method"):
        ensemble_weights("stacking", [A], LABELS, 1)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="final.ensemble.rounds must be >= 1"):
        greedy_selection([A], LABELS, 0)
    with pytest.raises(ValueError, match="at least one model"):
        greedy_selection([], LABELS, 1)
    with pytest.raises(ValueError, match="pool model 1"):
        greedy_selection([A, A[:3]], LABELS, 1)
    with pytest.raises(ValueError, match="3 validation labels for 4 rows"):
        greedy_selection([A], LABELS[:3], 1)


def test_the_selection_is_given_no_test_data():
    assert list(inspect.signature(greedy_selection).parameters) == [
        "val_probs",
        "val_labels",
        "rounds",
    ]


@st.composite
def pools(draw):
    m = draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    probs = [rng.dirichlet(np.ones(c), size=n) for _ in range(m)]
    labels = rng.integers(0, c, size=n)
    return probs, labels, draw(st.integers(1, 8))


@settings(max_examples=60, deadline=None)
@given(pools())
def test_weights_are_multiples_of_one_over_rounds_summing_to_one(case):
    probs, labels, rounds = case
    sel = greedy_selection(probs, labels, rounds)
    assert sum(sel.counts) == rounds and all(c >= 0 for c in sel.counts)
    np.testing.assert_array_equal(sel.weights * rounds, np.asarray(sel.counts, dtype=float))
    assert math.isclose(float(sel.weights.sum()), 1.0, rel_tol=1e-12)
    assert len(sel.val_accuracy_by_round) == rounds
    # Round 1 takes a model of the best single accuracy.
    best = max(float((p.argmax(axis=1) == labels).mean()) for p in probs)
    assert sel.val_accuracy_by_round[0] == best
    # Deterministic: the same call, the same choice.
    assert greedy_selection(probs, labels, rounds) == sel


@settings(max_examples=40, deadline=None)
@given(pools())
def test_a_later_round_never_falls_below_what_adding_the_best_model_again_keeps(case):
    """Each round chooses the best addition; adding again the model chosen last is one of the
    options, so with one model in the pool the accuracy stays that model's in every round."""
    probs, labels, rounds = case
    sel = greedy_selection(probs[:1], labels, rounds)
    assert set(sel.val_accuracy_by_round) == {float((probs[0].argmax(1) == labels).mean())}
