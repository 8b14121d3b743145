"""The four search strategies: valid proposals over many seeds and spaces, what each one must
(not) learn, exact resume of optuna-tpe after a killed job, and JSON round trips."""

import copy
import hashlib
import json
import time

import optuna
import pytest
from conftest import load_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hhnas.config import Search
from hhnas.config.templates import model_number
from hhnas.search.hhnas_am import HHNASStrategy
from hhnas.search.optuna_tpe import OptunaTPEStrategy
from hhnas.search.random_mutation import RandomMutationStrategy
from hhnas.search.random_search import RandomStrategy
from hhnas.search.space import MACRO_BITS, space_from_config
from hhnas.search.strategy import STRATEGIES, make_strategy

NAMES = ["hhnas", "random-mutation", "random", "optuna-tpe"]
COMMON_KEYS = {"seed", "iteration", "current", "best", "accuracies", "history", "rng"}
ENTRY_KEYS = {"iteration", "model", "macro", "params", "mutated", "accuracy", "reward"}


def fake_accuracy(cand: dict, salt: int = 0) -> float:
    """A deterministic 'validation accuracy' of a configuration: no training in these tests."""
    blob = json.dumps([salt, cand["macro"], cand["params"]], sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") / 2**32


def variant(cfg: dict, name: str) -> dict:
    """Search spaces of the ablations and a few others, as config edits."""
    cfg = copy.deepcopy(cfg)
    params = cfg["parameters"]
    if name == "all-macro":  # [0, 0, 0] becomes reachable
        cfg["macro"] = {"initial": [1, 0, 0], "mutable": [True, True, True]}
    elif name == "macro-only":
        for spec in params.values():
            spec["mutable"] = False
    elif name == "micro-only":
        cfg["macro"] = {"initial": [1, 1, 1], "mutable": [False, False, False]}
    elif name == "mixed":
        params["learning_rate"]["mutable"] = False
        params["kernel_size"]["mutable"] = False
        cfg["macro"]["mutable"] = [False, True, False]
    return cfg


VARIANTS = ["default", "all-macro", "macro-only", "micro-only", "mixed"]


def run(strategy, seed: int, n: int, salt: int = 0, round_trip: bool = False):
    state = strategy.initial_state(seed)
    cands = []
    for _ in range(n):
        cand, state = strategy.propose(state)
        if round_trip:
            cand, state = json.loads(json.dumps(cand)), json.loads(json.dumps(state))
        state = strategy.observe(state, cand, fake_accuracy(cand, salt))
        if round_trip:
            state = json.loads(json.dumps(state))
        cands.append(cand)
    return cands, state


def check_valid(cfg: dict, cands: list[dict], state: dict) -> None:
    macro_cfg, spec = cfg["macro"], cfg["parameters"]
    mutable_names = {b for b, m in zip(MACRO_BITS, macro_cfg["mutable"], strict=True) if m} | {
        n for n, p in spec.items() if p.get("mutable", True)
    }
    for i, cand in enumerate(cands):
        assert cand["iteration"] == i
        assert set(cand["macro"]) <= {0, 1} and len(cand["macro"]) == 3
        for bit, init, mut in zip(
            cand["macro"], macro_cfg["initial"], macro_cfg["mutable"], strict=True
        ):
            if not mut:
                assert bit == init
        assert cand["model"] == model_number(cand["macro"])
        assert list(cand["params"]) == list(spec)
        for name, p in spec.items():
            v = cand["params"][name]
            if not p.get("mutable", True):
                assert v == p["initial"], name
            elif p["type"] == "discrete":
                assert v in p["choices"], name
            else:
                assert p["low"] <= v <= p["high"], name
        assert set(cand["mutated"]) <= mutable_names
    assert COMMON_KEYS <= set(state)
    assert state["iteration"] == len(cands) - 1
    assert len(state["history"]) == len(state["accuracies"]) == len(cands)
    for entry in state["history"]:
        assert set(entry) == ENTRY_KEYS
    assert state["best"]["accuracy"] == max(state["accuracies"])
    json.dumps(state)  # plain JSON


def make(name: str, cfg: dict, **kw):
    return make_strategy(Search.from_mapping({**cfg, "strategy": name}), **kw)


# -- every strategy ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 100_000), space=st.sampled_from(VARIANTS), n=st.integers(1, 16))
def test_every_proposal_is_valid(search_cfg, name, seed, space, n):
    cfg = variant(search_cfg, space)
    cfg["optuna"] = {"n_startup_trials": 4}
    cands, state = run(make(name, cfg), seed, n)
    check_valid(cfg, cands, state)


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip_at_every_step_changes_nothing(search_cfg, name):
    cfg = {**variant(search_cfg, "all-macro"), "optuna": {"n_startup_trials": 4}}
    plain = run(make(name, cfg), 11, 15)
    tripped = run(make(name, cfg), 11, 15, round_trip=True)
    assert json.dumps(plain) == json.dumps(tripped)
    again = run(make(name, cfg), 11, 15)
    assert json.dumps(plain) == json.dumps(again)
    assert run(make(name, cfg), 12, 15)[0] != plain[0]


def test_registry_and_unknown_name(search_cfg):
    assert sorted(STRATEGIES) == sorted(NAMES)
    assert isinstance(make(STRATEGIES["random"].name, search_cfg), RandomStrategy)
    search_cfg["strategy"] = "nope"
    with pytest.raises(ValueError, match="search.strategy.*hhnas, optuna-tpe, random, random-m"):
        make_strategy(Search.from_mapping(search_cfg))


def test_strategy_module_keeps_its_old_names():
    from hhnas.search.strategy import HHNASStrategy as H
    from hhnas.search.strategy import SearchStrategy, rng_from_json, rng_to_json  # noqa: F401

    assert H is HHNASStrategy


# -- the search space --------------------------------------------------------------------------


def test_features_list_only_mutable_things_macro_first(search_cfg):
    cfg = variant(search_cfg, "mixed")
    names = [p.name for p in space_from_config(cfg).features]
    assert names == ["p2", "criterion_num", "layer_size1", "layer_size2", "dropout_rate"]


def test_the_space_reads_the_configs_own_parameters(search_cfg):
    """One parser: the space holds hhnas.config's parameters, with continuous ranges as floats."""
    from hhnas.config.sections import parameters

    search_cfg["parameters"]["dropout_rate"].update(low=0, high=1, initial=0)
    space = space_from_config(search_cfg)
    parsed = {p.name: p for p in parameters(search_cfg)}
    for p in space.params:
        assert (p.name, p.type, p.log, p.mutable) == (
            parsed[p.name].name,
            parsed[p.name].type,
            parsed[p.name].log,
            parsed[p.name].mutable,
        )
    dropout = next(p for p in space.params if p.name == "dropout_rate")
    assert (dropout.low, dropout.high, space.initial["dropout_rate"]) == (0.0, 1.0, 0.0)
    assert all(type(v) is float for v in (dropout.low, dropout.high, dropout.initial))


def test_hhnas_learns_nothing_about_fixed_params(search_cfg):
    cfg = variant(search_cfg, "mixed")
    state = HHNASStrategy(Search.from_mapping(cfg)).initial_state(0)
    assert set(state["q_table"]) == {p.name for p in space_from_config(cfg).features}
    assert set(state["stats"]) == {"dropout_rate"}


# -- random-mutation -----------------------------------------------------------------------------


def test_random_mutation_never_learns(search_cfg):
    s = RandomMutationStrategy(Search.from_mapping(search_cfg))
    start = s.initial_state(4)
    cands, state = run(s, 4, 50)
    assert state["q_table"] == start["q_table"]
    assert state["stats"] == start["stats"]
    assert len({json.dumps(c["params"], sort_keys=True) for c in cands}) > 40
    assert all(c["mutated"] for c in cands[1:])  # require_mutation, as in HHNAS
    assert any(e["reward"] != 0 for e in state["history"])
    # Same operator and RNG: until HHNAS has learnt something both propose the same child.
    h_cands, h_state = run(HHNASStrategy(Search.from_mapping(search_cfg)), 4, 2)
    assert h_cands == cands[:2]
    assert h_state["q_table"] != start["q_table"]


def test_random_mutation_parent_best(search_cfg):
    search_cfg["parent"] = "best"
    _, state = run(RandomMutationStrategy(Search.from_mapping(search_cfg)), 2, 20)
    assert state["current"] == {k: state["best"][k] for k in ("macro", "params")}


# -- random ----------------------------------------------------------------------------------------


def test_random_ignores_accuracies(search_cfg):
    cfg = variant(search_cfg, "all-macro")
    a, _ = run(RandomStrategy(Search.from_mapping(cfg)), 9, 30, salt=1)
    b, _ = run(RandomStrategy(Search.from_mapping(cfg)), 9, 30, salt=2)
    assert a == b


def test_random_samples_iteration_zero_and_covers_the_space(search_cfg):
    cfg = variant(search_cfg, "all-macro")
    s = RandomStrategy(Search.from_mapping(cfg))
    space = s.space
    firsts = [s.propose(s.initial_state(seed))[0] for seed in range(600)]
    assert len({json.dumps(c["params"], sort_keys=True) for c in firsts}) == 600
    assert {tuple(c["macro"]) for c in firsts} == {
        (a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)
    }
    assert {c["params"]["kernel_size"] for c in firsts} == set(range(1, 8))
    # log-uniform: about half below the geometric middle of [1e-4, 1e-1]
    below = sum(c["params"]["learning_rate"] < 10**-2.5 for c in firsts) / len(firsts)
    assert 0.42 < below < 0.58
    for c in firsts:  # `mutated` = what differs from the initial configuration
        initial = {**dict(zip(MACRO_BITS, space.macro_initial, strict=True)), **space.initial}
        now = {**dict(zip(MACRO_BITS, c["macro"], strict=True)), **c["params"]}
        assert set(c["mutated"]) == {k for k in now if now[k] != initial[k]}


# -- optuna-tpe ----------------------------------------------------------------------------------


def optuna_cfg(search_cfg: dict, **extra) -> dict:
    return {**search_cfg, "strategy": "optuna-tpe", "optuna": {"n_startup_trials": 3, **extra}}


def db_trials(study_dir) -> list:
    study = optuna.load_study(study_name="hhnas", storage=f"sqlite:///{study_dir}/optuna.db")
    return study.get_trials(deepcopy=False)


def assert_db_matches(study_dir, state: dict) -> None:
    trials = db_trials(study_dir)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * len(state["history"])
    assert [t.value for t in trials] == state["accuracies"]
    for t, e in zip(trials, state["history"], strict=True):
        assert t.params["dropout_rate"] == e["params"]["dropout_rate"]
        assert t.params["p2"] == e["macro"][1]


RESUME_N, RESUME_K = 10, 6  # iterations in all; the kill happens in iteration RESUME_K


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """One SQLite-backed run without a kill, shared by the resume tests (SQLite commits are
    slow)."""
    cfg = optuna_cfg(load_config()["search"])
    study_dir = tmp_path_factory.mktemp("whole")
    cands, state = run(OptunaTPEStrategy(Search.from_mapping(cfg), study_dir), 3, RESUME_N)
    assert_db_matches(study_dir, state)
    return cfg, cands, state


@pytest.mark.parametrize("kill", ["after-ask", "after-tell", "db-deleted"])
def test_optuna_resume_after_a_killed_job_is_exact(tmp_path, uninterrupted, kill):
    cfg, whole, whole_state = uninterrupted
    n, k = RESUME_N, RESUME_K

    study_dir = tmp_path / "killed"
    first, state = run(OptunaTPEStrategy(Search.from_mapping(cfg), study_dir), 3, k)
    saved = json.dumps(state)  # the last state file written before the kill
    dying = OptunaTPEStrategy(Search.from_mapping(cfg), study_dir)
    cand, after = dying.propose(json.loads(saved))
    if kill == "after-tell":
        dying.observe(after, cand, fake_accuracy(cand))  # its state file is never written
        assert len(db_trials(study_dir)) == k + 1
    elif kill == "after-ask":
        assert db_trials(study_dir)[-1].state == optuna.trial.TrialState.RUNNING
    else:
        (study_dir / "optuna.db").unlink()

    state = json.loads(saved)  # a new job, a new process
    rest = []
    for _ in range(n - k):
        s = OptunaTPEStrategy(Search.from_mapping(cfg), study_dir)
        cand, state = s.propose(state)
        state = json.loads(json.dumps(s.observe(state, cand, fake_accuracy(cand))))
        rest.append(cand)
    assert first + rest == whole
    assert json.dumps(state) == json.dumps(whole_state)
    assert_db_matches(study_dir, state)


@pytest.mark.parametrize("multivariate", [False, True])
def test_optuna_same_state_same_candidate_with_or_without_rebuild(
    tmp_path, search_cfg, multivariate
):
    cfg = optuna_cfg(search_cfg, multivariate=multivariate)
    _, state = run(OptunaTPEStrategy(Search.from_mapping(cfg), tmp_path / "a"), 8, 6)
    in_sync = OptunaTPEStrategy(Search.from_mapping(cfg), tmp_path / "a").propose(state)[0]
    # the ask above left a RUNNING trial: this one must rebuild
    rebuilt_dangling = OptunaTPEStrategy(Search.from_mapping(cfg), tmp_path / "a").propose(state)[0]
    rebuilt_empty = OptunaTPEStrategy(Search.from_mapping(cfg), tmp_path / "empty").propose(state)[
        0
    ]
    in_memory = OptunaTPEStrategy(Search.from_mapping(cfg)).propose(state)[0]
    assert in_sync == rebuilt_dangling == rebuilt_empty == in_memory
    assert in_sync["trial"] == 6 and in_sync["iteration"] == 6


def test_optuna_config_defaults_and_keys(search_cfg):
    s = make("optuna-tpe", search_cfg)
    assert (s.n_startup_trials, s.multivariate) == (10, False)
    s = make_strategy(Search.from_mapping(optuna_cfg(search_cfg, multivariate=True)))
    assert (s.n_startup_trials, s.multivariate) == (3, True)


def test_optuna_fixed_params_are_not_in_the_study(tmp_path, search_cfg):
    cfg = optuna_cfg(variant(search_cfg, "mixed"))
    _, state = run(OptunaTPEStrategy(Search.from_mapping(cfg), tmp_path), 1, 3)
    assert set(db_trials(tmp_path)[0].params) == {
        "p2",
        "criterion_num",
        "layer_size1",
        "layer_size2",
        "dropout_rate",
    }


def test_optuna_maximises(search_cfg):
    """On a smooth toy objective TPE's proposals after its 10 random startup trials beat random
    search's (the study must be told to maximise)."""

    def toy(cand: dict) -> float:
        p = cand["params"]
        return 1.0 - abs(p["dropout_rate"] - 0.6) - 0.1 * abs(p["kernel_size"] - 5)

    late = {}
    for cls in (OptunaTPEStrategy, RandomStrategy):
        s = cls(Search.from_mapping(search_cfg))
        state, accs = s.initial_state(0), []
        for _ in range(40):
            cand, state = s.propose(state)
            accs.append(toy(cand))
            state = s.observe(state, cand, accs[-1])
        late[cls] = sum(accs[-15:]) / 15
    assert late[OptunaTPEStrategy] > late[RandomStrategy] + 0.1


def test_optuna_rejects_a_non_finite_accuracy(search_cfg):
    s = OptunaTPEStrategy(Search.from_mapping(search_cfg))
    cand, state = s.propose(s.initial_state(0))
    with pytest.raises(ValueError, match="finite"):
        s.observe(state, cand, float("nan"))


def test_optuna_sixty_iterations_in_reasonable_time(search_cfg):
    """TPE's ask grows with the number of trials; in memory it stays near 10 ms at 50 trials."""
    s = OptunaTPEStrategy(Search.from_mapping(search_cfg))  # default 10 startup trials
    state = s.initial_state(0)
    start = time.perf_counter()
    for _ in range(60):
        cand, state = s.propose(state)
        state = s.observe(state, cand, fake_accuracy(cand))
    assert time.perf_counter() - start < 30
    assert len(state["history"]) == 60
