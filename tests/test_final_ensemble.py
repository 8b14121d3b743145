"""The final model's ensemble (hhnas.final.build.choose_ensemble): which pool members are saved,
with what weights, what metrics.json records of the choice; test labels change nothing."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from hhnas.final.build import choose_ensemble
from hhnas.final.inference import weighted_mean

# The hand-computed pool of tests/test_final_ensemble_selection.py: greedy over [B, A, C] for 3
# rounds gives counts (1, 2, 0).
VAL = np.array([0, 0, 1, 1])
A = np.array([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8]])
B = np.array([[0.4, 0.6], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
C = np.array([[0.45, 0.55]] * 4)
# On test, A gets both rows right, B the second only.
TEST = np.array([1, 0])
T = {"A": np.array([[0.3, 0.7], [0.6, 0.4]]), "B": np.array([[0.8, 0.2], [0.9, 0.1]])}
T["C"] = np.array([[0.45, 0.55]] * 2)


def _member(i):
    return {"model": 1, "experiment": 1, "iteration": i, "val_acc": 0.0, "weight": 0.0}


def _labels(test=TEST):
    return {"val": VAL, "test": test}


def _probs(*names):
    return [{"val": {"A": A, "B": B, "C": C}[n], "test": T[n]} for n in names]


def test_greedy_keeps_the_weighted_members_and_drops_the_rest():
    chosen = choose_ensemble(
        ["mB", "mA"], [_member(0), _member(1)], _probs("B", "A"), None, _labels(), "greedy", 3
    )
    assert chosen.models == ["mB", "mA"]
    assert [m["weight"] for m in chosen.members] == [1 / 3, 2 / 3]
    assert chosen.lexical is None and chosen.lexical_record is None
    np.testing.assert_array_equal(
        chosen.probs["test"], weighted_mean([T["B"], T["A"]], [1 / 3, 2 / 3])
    )
    sel = chosen.selection
    assert sel is not None and sel["rounds"] == 3
    assert sel["val_accuracy_by_round"] == [0.75, 1.0, 1.0]
    assert [(p["name"], p["val_acc"], p["test_acc"], p["weight"]) for p in sel["pool"]] == [
        ("Model 1 (experiment 1, iteration 0)", 0.75, 0.5, 1 / 3),
        ("Model 1 (experiment 1, iteration 1)", 0.75, 1.0, 2 / 3),
    ]


def test_the_lexical_member_is_saved_only_with_weight():
    lexical = SimpleNamespace(c=10.0)
    # TF-IDF as C: never chosen, not saved.
    chosen = choose_ensemble(
        ["mB", "mA"],
        [_member(0), _member(1)],
        _probs("B", "A"),
        (lexical, _probs("C")[0]),
        _labels(),
        "greedy",
        3,
    )
    assert chosen.lexical is None and chosen.lexical_record is None
    assert chosen.selection["pool"][-1]["name"] == "tfidf-lr"
    assert chosen.selection["pool"][-1]["weight"] == 0.0
    # TF-IDF as A (pool [B, C, TF-IDF]): chosen in rounds 1 and 3, B in round 2; C dropped.
    chosen = choose_ensemble(
        ["mB", "mC"],
        [_member(0), _member(1)],
        _probs("B", "C"),
        (lexical, _probs("A")[0]),
        _labels(),
        "greedy",
        3,
    )
    assert chosen.models == ["mB"] and [m["weight"] for m in chosen.members] == [1 / 3]
    assert chosen.lexical is lexical
    assert chosen.lexical_record == {
        "kind": "tfidf-lr",
        "C": 10.0,
        "val_acc": 0.75,
        "test_acc": 1.0,
        "weight": 2 / 3,
    }
    total = sum(m["weight"] for m in chosen.members) + chosen.lexical_record["weight"]
    assert math.isclose(total, 1.0)
    np.testing.assert_array_equal(chosen.probs["val"], weighted_mean([B, A], [1 / 3, 2 / 3]))


def test_mean_keeps_every_candidate_at_equal_weight():
    chosen = choose_ensemble(
        ["mA", "mB", "mC"],
        [_member(0), _member(1), _member(2)],
        _probs("A", "B", "C"),
        None,
        _labels(),
        "mean",
        1,
    )
    assert [m["weight"] for m in chosen.members] == [1 / 3] * 3
    assert chosen.selection is None
    np.testing.assert_array_equal(chosen.probs["val"], weighted_mean([A, B, C], [1 / 3] * 3))


@pytest.mark.parametrize("test", [np.array([0, 0]), np.array([1, 1]), np.array([0, 1])])
def test_test_labels_change_no_weight(test):
    args = (["mB", "mA", "mC"], [_member(i) for i in range(3)], _probs("B", "A", "C"), None)
    base = choose_ensemble(*args, _labels(), "greedy", 5)
    other = choose_ensemble(*args, _labels(test), "greedy", 5)
    assert [m["weight"] for m in other.members] == [m["weight"] for m in base.members]
    np.testing.assert_array_equal(other.probs["test"], base.probs["test"])
