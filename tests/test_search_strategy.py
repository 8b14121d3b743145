"""The HHNAS strategy end to end, its state files, and properties over many seeds."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hhnas.config import Search
from hhnas.search.state import config_hash, load_state, save_state
from hhnas.search.strategy import HHNASStrategy, make_strategy


def test_iteration_zero_is_the_initial_architecture(search_cfg):
    s = HHNASStrategy(Search.from_mapping(search_cfg))
    cand, _ = s.propose(s.initial_state(1))
    assert cand["iteration"] == 0
    assert cand["macro"] == [1, 0, 0] and cand["model"] == 1
    assert cand["mutated"] == {}
    for name, spec in search_cfg["parameters"].items():
        assert cand["params"][name] == pytest.approx(spec["initial"]), name


def test_observe_updates_q_mean_and_variance_by_hand(literal_search_cfg):
    s = HHNASStrategy(Search.from_mapping(literal_search_cfg))
    state = s.initial_state(1)
    cand0, state = s.propose(state)
    state = s.observe(state, cand0, 0.8)
    assert state["q_table"]["dropout_rate"] == {"+": 1.0, "-": 1.0}  # nothing mutated yet
    cand = {
        "iteration": 1,
        "macro": [1, 0, 0],
        "model": 1,
        "params": {**cand0["params"], "dropout_rate": 0.28},
        "mutated": {"dropout_rate": {"action": "+", "sample": 0.4}},
    }
    state = s.observe(state, cand, 0.9)
    # reward = 0.9 - mean([0.8]) = 0.1; Q(dropout,+) = 1 + 5 * 0.1
    assert state["q_table"]["dropout_rate"]["+"] == pytest.approx(1.5)
    assert state["q_table"]["dropout_rate"]["-"] == pytest.approx(1.0)
    mu0 = 0.2 / 0.7
    # signed mean rule: sample 0.4 above mu0 -> mu0 + 0.5 * 0.1
    assert state["stats"]["dropout_rate"]["mean"] == pytest.approx(mu0 + 0.05)
    # distance rule with the old mean: |0.4 - mu0| / 0.2 < 1 -> inside
    z = abs(0.4 - mu0) / 0.2
    assert state["stats"]["dropout_rate"]["var"] == pytest.approx(0.04 + 0.5 * (1 - z) * 0.1)
    assert state["history"][-1]["reward"] == pytest.approx(0.1)
    assert state["best"]["iteration"] == 1
    assert state["current"]["params"]["dropout_rate"] == 0.28  # parent: last


def test_parent_best_keeps_the_best(search_cfg):
    search_cfg["parent"] = "best"
    s = HHNASStrategy(Search.from_mapping(search_cfg))
    state = s.initial_state(3)
    cand0, state = s.propose(state)
    state = s.observe(state, cand0, 0.9)
    cand1, state = s.propose(state)
    state = s.observe(state, cand1, 0.1)
    assert state["current"]["params"] == cand0["params"]


def _run(s, seed, accs):
    state = s.initial_state(seed)
    cands = []
    for acc in accs:
        cand, state = s.propose(state)
        state = s.observe(state, cand, acc)
        cands.append(cand)
    return cands, state


def test_same_seed_same_search_and_json_round_trip(search_cfg):
    s = HHNASStrategy(Search.from_mapping(search_cfg))
    accs = [0.5, 0.6, 0.55, 0.7, 0.65, 0.8, 0.2, 0.9]
    a, state_a = _run(s, 5, accs)
    b, state_b = _run(s, 5, accs)
    assert a == b and state_a == state_b
    # resuming from a JSON copy of a mid-run state continues identically
    state = s.initial_state(5)
    for acc in accs[:4]:
        cand, state = s.propose(state)
        state = s.observe(state, cand, acc)
    state = json.loads(json.dumps(state))
    for acc in accs[4:]:
        cand, state = s.propose(state)
        state = s.observe(state, cand, acc)
    assert state == json.loads(json.dumps(state_a))
    c, _ = _run(s, 6, accs)
    assert c != a


def test_rewarded_mutations_become_more_likely(literal_search_cfg):
    s = HHNASStrategy(Search.from_mapping(literal_search_cfg))
    state = s.initial_state(0)
    cand, state = s.propose(state)
    state = s.observe(state, cand, 0.5)
    for _ in range(30):
        cand, state = s.propose(state)
        acc = 0.9 if "p3" in cand["mutated"] else 0.3
        state = s.observe(state, cand, acc)
    q = state["q_table"]
    assert q["p3"]["+"] + q["p3"]["-"] == max(v["+"] + v["-"] for v in q.values())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    accs=st.lists(st.floats(0, 1), min_size=1, max_size=25),
    var_update=st.sampled_from(["distance", "moment"]),
    mean_update=st.sampled_from(["signed", "literal"]),
)
def test_every_proposal_is_valid(search_cfg, seed, accs, var_update, mean_update):
    search_cfg = {**search_cfg, "variance_update": var_update, "mean_update": mean_update}
    s = HHNASStrategy(Search.from_mapping(search_cfg))
    cands, state = _run(s, seed, accs)
    spec = search_cfg["parameters"]
    for cand in cands:
        assert cand["macro"][0] == 1 and set(cand["macro"]) <= {0, 1}
        assert 1 <= cand["model"] <= 4
        for name, p in spec.items():
            v = cand["params"][name]
            if p["type"] == "discrete":
                assert v in p["choices"]
            else:
                assert p["low"] - 1e-12 <= v <= p["high"] + 1e-12
        if cand["iteration"] > 0 and search_cfg["require_mutation"]:
            assert cand["mutated"]
    for q in state["q_table"].values():
        assert q["+"] >= search_cfg["q_min"] and q["-"] >= search_cfg["q_min"]
    for stat in state["stats"].values():
        assert search_cfg["var_min"] <= stat["var"] <= search_cfg["var_max"]
        assert 0.0 <= stat["mean"] <= 1.0


def test_unknown_strategy_names_the_key(search_cfg):
    search_cfg["strategy"] = "nope"
    with pytest.raises(ValueError, match="search.strategy"):
        make_strategy(Search.from_mapping(search_cfg))


IDENT = dict(strategy="hhnas", cfg_hash="abc", dataset="spider", experiment=1)


def test_state_file_round_trip_and_checks(tmp_path, search_cfg):
    s = HHNASStrategy(Search.from_mapping(search_cfg))
    cand, state = s.propose(s.initial_state(1))
    state = s.observe(state, cand, 0.5)
    path = tmp_path / "exp1" / "state_0.json"
    save_state(path, state, **IDENT)
    assert load_state(path, iteration=0, **IDENT) == json.loads(json.dumps(state))
    with pytest.raises(ValueError, match="config_hash.*delete .*exp1/ to start"):
        load_state(path, iteration=0, **{**IDENT, "cfg_hash": "other"})
    with pytest.raises(ValueError, match="iteration is 0, expected 1"):
        load_state(path, iteration=1, **IDENT)
    path.write_text(path.read_text()[:50])
    with pytest.raises(ValueError, match="state_0.json: not valid JSON"):
        load_state(path, iteration=0, **IDENT)


def test_config_hash_is_order_independent():
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
