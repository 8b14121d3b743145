"""The Q updates (search.q_update), the reward baselines (search.reward_baseline) and shared
credit (search.credit) against hand-computed values; Q > 0 and P(s) in (0, maxProb] as
properties over long random reward sequences."""

from __future__ import annotations

import math

import pytest
from conftest import literal_search
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.config import SEARCH_ADDED, Search, hashed_search
from hhnas.search.base import reward_baseline
from hhnas.search.qtable import (
    direction_probability,
    init_qcounts,
    init_qtable,
    mutation_probabilities,
    update_q,
)
from hhnas.search.strategy import make_strategy


def fresh(rule_features=("lr", "p2")):
    return init_qtable(list(rule_features), 1.0), init_qcounts(list(rule_features), 1.0)


def test_additive_and_multiplicative_by_hand():
    q, _ = fresh()
    update_q(q, "lr", "+", 0.1, 5.0, "additive", 0.05)
    assert q["lr"]["+"] == pytest.approx(1.5)
    update_q(q, "lr", "+", -0.5, 5.0, "additive", 0.05)  # 1.5 - 2.5 -> floored
    assert q["lr"]["+"] == 0.05
    update_q(q, "lr", "-", 0.1, 5.0, "additive", 0.05, weight=0.5)  # 1 + 5 * 0.5 * 0.1
    assert q["lr"]["-"] == pytest.approx(1.25)
    update_q(q, "p2", "+", 0.1, 2.0, "multiplicative", 0.05, weight=0.5)  # exp(0.1)
    assert q["p2"]["+"] == pytest.approx(math.exp(0.1))


def test_mean_is_the_running_mean_with_the_prior():
    q, n = fresh()
    update_q(q, "lr", "+", 0.0, 5.0, "mean", 0.05, value=0.8, counts=n)
    assert q["lr"]["+"] == pytest.approx((1.0 + 0.8) / 2)
    update_q(q, "lr", "+", 0.0, 5.0, "mean", 0.05, value=0.6, counts=n)
    assert q["lr"]["+"] == pytest.approx((1.0 + 0.8 + 0.6) / 3)
    assert n["lr"]["+"] == 3.0
    # A half share: (1 * 1.0 + 0.5 * 0.8) / 1.5
    update_q(q, "p2", "-", 0.0, 5.0, "mean", 0.05, value=0.8, weight=0.5, counts=n)
    assert q["p2"]["-"] == pytest.approx(1.4 / 1.5)
    assert q["p2"]["+"] == 1.0 and n["p2"]["+"] == 1.0


def test_mean_with_a_heavier_prior():
    q = init_qtable(["lr"], 0.5)
    n = init_qcounts(["lr"], 4.0)
    update_q(q, "lr", "+", 0.0, 1.0, "mean", 0.05, value=1.0, counts=n)
    assert q["lr"]["+"] == pytest.approx((4 * 0.5 + 1.0) / 5)


def test_ema_by_hand():
    q, _ = fresh()
    update_q(q, "lr", "+", 0.0, 0.3, "ema", 0.05, value=0.8)
    assert q["lr"]["+"] == pytest.approx(0.94)
    update_q(q, "lr", "+", 0.0, 0.3, "ema", 0.05, value=0.6)
    assert q["lr"]["+"] == pytest.approx(0.94 + 0.3 * (0.6 - 0.94))
    update_q(q, "lr", "-", 0.0, 0.3, "ema", 0.05, value=0.8, weight=0.5)
    assert q["lr"]["-"] == pytest.approx(1.0 + 0.15 * (0.8 - 1.0))
    update_q(q, "p2", "+", 0.0, 1.0, "ema", 0.05, value=0.0)  # alpha 1 on a failure: floor
    assert q["p2"]["+"] == 0.05


def test_mean_and_ema_need_their_inputs():
    q, _ = fresh()
    with pytest.raises(ValueError, match="needs the candidate's value"):
        update_q(q, "lr", "+", 0.0, 0.3, "ema", 0.05)
    with pytest.raises(ValueError, match="evidence counts"):
        update_q(q, "lr", "+", 0.0, 0.3, "mean", 0.05, value=0.5)
    with pytest.raises(ValueError, match="q_update must be one of"):
        update_q(q, "lr", "+", 0.0, 0.3, "sum", 0.05, value=0.5)


def _state(accs):
    history = [{"accuracy": a} for a in accs]
    best = max(history, key=lambda h: h["accuracy"]) if history else None
    return {"accuracies": list(accs), "history": history, "best": best}


def test_reward_baselines_by_hand():
    s = _state([0.8, 0.0, 0.6])
    assert reward_baseline(s, 0.7, "all") == pytest.approx(1.4 / 3)
    assert reward_baseline(s, 0.7, "ok") == pytest.approx(0.7)
    assert reward_baseline(s, 0.7, "parent", "last") == 0.6
    assert reward_baseline(s, 0.7, "parent", "best") == 0.8
    for rule in ("all", "ok", "parent"):  # the first candidate is its own baseline
        assert reward_baseline(_state([]), 0.42, rule) == 0.42
    assert reward_baseline(_state([0.0, 0.0]), 0.5, "ok") == 0.5  # only failures so far
    with pytest.raises(ValueError, match="reward_baseline must be one of"):
        reward_baseline(s, 0.7, "median")


def _search(**over):
    """The paper-literal search (the tests below state what they change) with ``over``."""
    search = literal_search()
    search.update(over)
    return search


def _one_step(search, accuracies):
    """Iteration 0 and then one mutated candidate; returns (state, candidate)."""
    strategy = make_strategy(Search.from_mapping(search))
    state = strategy.initial_state(3)
    for acc in accuracies:
        cand, state = strategy.propose(state)
        state = strategy.observe(state, cand, acc)
    return state, cand


def _multi_mutation_seed(search):
    for seed in range(50):
        strategy = make_strategy(Search.from_mapping(search))
        state = strategy.initial_state(seed)
        cand, state = strategy.propose(state)
        state = strategy.observe(state, cand, 0.5)
        cand, _ = strategy.propose(state)
        if len(cand["mutated"]) >= 2:
            return seed
    raise AssertionError("no seed mutates two features at once")


@pytest.mark.parametrize("credit", ["full", "shared"])
def test_credit_shares_the_reward_among_mutated_features(credit):
    search = _search(credit=credit)
    seed = _multi_mutation_seed(search)
    strategy = make_strategy(Search.from_mapping(search))
    state = strategy.initial_state(seed)
    cand, state = strategy.propose(state)
    state = strategy.observe(state, cand, 0.5)
    cand, state = strategy.propose(state)
    state = strategy.observe(state, cand, 0.6)
    n = len(cand["mutated"])
    share = 1.0 / n if credit == "shared" else 1.0
    for name, m in cand["mutated"].items():
        # reward 0.6 - 0.5, q_alpha 5, additive from q_init 1
        assert state["q_table"][name][m["action"]] == pytest.approx(1.0 + 5.0 * share * 0.1)


def test_mean_update_in_the_strategy_learns_the_accuracy():
    search = _search(q_update="mean", q_prior_weight=1.0, reward_baseline="ok", credit="full")
    state, cand = _one_step(search, [0.5, 0.7])
    for name, m in cand["mutated"].items():
        assert state["q_table"][name][m["action"]] == pytest.approx((1.0 + 0.7) / 2)
        assert state["q_counts"][name][m["action"]] == 2.0
    assert state["history"][-1]["reward"] == pytest.approx(0.2)


def test_parent_baseline_in_the_strategy():
    search = _search(reward_baseline="parent", parent="best")
    state, _ = _one_step(search, [0.5, 0.9, 0.6])
    assert state["history"][-1]["reward"] == pytest.approx(0.6 - 0.9)


def test_added_keys_at_their_earlier_meaning_leave_the_hash_alone():
    base = {"q_update": "additive", "q_alpha": 5.0, "iterations": 50}
    assert hashed_search({**base, **SEARCH_ADDED}, ("iterations",)) == {
        "q_update": "additive",
        "q_alpha": 5.0,
    }
    changed = hashed_search({**base, "reward_baseline": "ok"}, ("iterations",))
    assert changed["reward_baseline"] == "ok"
    mean = hashed_search({**base, "q_update": "mean", "q_prior_weight": 1.0}, ())
    assert mean["q_prior_weight"] == 1.0


# `multiplicative` is left out: Q * exp(q_alpha * r) is unbounded and overflows to inf after
# about 110 rewards of +1 at q_alpha 5 (docs/algorithm.md).
UPDATES = {"additive": 5.0, "mean": 1.0, "ema": 0.3}
FEATURES = ["p2", "p3", "learning_rate", "criterion_num"]


@settings(max_examples=60, deadline=None)
@given(
    update=st.sampled_from(sorted(UPDATES)),
    max_prob=st.floats(0.05, 1.0),
    updates=st.lists(
        st.tuples(
            st.sampled_from(FEATURES),
            st.sampled_from(["+", "-"]),
            st.floats(-0.3, 1.0),  # objective values; below 0 only with a cost penalty
            st.floats(0.0, 1.0),  # p_hat
            st.sampled_from([1.0, 0.5, 1 / 3, 0.25]),  # credit shares
        ),
        min_size=1,
        max_size=300,
    ),
)
def test_q_stays_positive_and_probabilities_in_range(update, max_prob, updates):
    q = init_qtable(FEATURES, 1.0)
    counts = init_qcounts(FEATURES, 1.0)
    for s, a, value, p_hat, w in updates:
        update_q(
            q,
            s,
            a,
            value - p_hat,
            UPDATES[update],
            update,
            0.05,
            value=value,
            weight=w,
            counts=counts,
        )
        assert all(v >= 0.05 and math.isfinite(v) for qs in q.values() for v in qs.values())
        probs = mutation_probabilities(q, max_prob)
        assert all(0 < p <= max_prob * (1 + 1e-12) for p in probs.values())
        assert max(probs.values()) == pytest.approx(max_prob)
        for feature in FEATURES:
            assert 0 < direction_probability(q, feature) < 1
