"""hhnas.reporting.importance: fANOVA importances over candidates and the final Q-table view."""

import copy
import math
import random

import optuna
import pytest
from conftest import load_config

from hhnas.reporting.importance import final_mutation_probabilities, param_importances
from hhnas.search.optuna_tpe import OptunaTPEStrategy
from hhnas.search.space import BINARY, CONTINUOUS, MACRO_BITS, space_from_config


@pytest.fixture(scope="module")
def search_cfg() -> dict:
    return load_config()["search"]


def _candidates(space, n: int, seed: int, accuracy) -> list[dict]:
    """n candidates drawn uniformly over the space (learning_rate log-uniform)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        macro, params = list(space.macro_initial), dict(space.initial)
        for p in space.features:
            if p.kind == BINARY:
                macro[MACRO_BITS.index(p.name)] = rng.randint(0, 1)
            elif p.kind == CONTINUOUS:
                lo, hi = (math.log10(p.low), math.log10(p.high)) if p.log else (p.low, p.high)
                u = rng.uniform(lo, hi)
                params[p.name] = min(p.high, max(p.low, 10**u if p.log else u))
            else:
                params[p.name] = rng.choice(p.choices)
        out.append({"macro": macro, "params": params, "accuracy": accuracy(macro, params, rng)})
    return out


def _lr_driven(macro, params, rng) -> float:
    """Accuracy rises with log10(learning_rate) by 0.3 over its range, + 0.002 noise; nothing
    else (kernel_size included) enters."""
    return 0.6 + 0.1 * (math.log10(params["learning_rate"]) + 4) + rng.gauss(0, 0.002)


def test_learning_rate_dominates(search_cfg):
    space = space_from_config(search_cfg)
    cands = _candidates(space, 60, seed=1, accuracy=_lr_driven)
    imp = param_importances(cands, space, seed=0)
    assert list(imp) == [p.name for p in space.features]  # every mutable feature, in order
    assert list(imp) == ["p2", "p3", *search_cfg["parameters"]]
    assert max(imp, key=imp.get) == "learning_rate"
    assert imp["learning_rate"] > 0.5
    assert imp["kernel_size"] < 0.1
    assert sum(imp.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(v >= 0.0 for v in imp.values())
    assert param_importances(cands, space, seed=0) == imp  # seeded forest: reproducible


def test_other_driver_is_found(search_cfg):
    """Not a fixed answer: make kernel_size the driver and it, not learning_rate, comes first."""
    space = space_from_config(search_cfg)
    cands = _candidates(space, 60, seed=2, accuracy=lambda m, p, rng: 0.5 + 0.05 * p["kernel_size"])
    imp = param_importances(cands, space)
    assert max(imp, key=imp.get) == "kernel_size"
    assert imp["learning_rate"] < 0.1


def test_fixed_feature_is_absent(search_cfg):
    cfg = copy.deepcopy(search_cfg)
    cfg["parameters"]["kernel_size"]["mutable"] = False
    space = space_from_config(cfg)
    cands = _candidates(space, 40, seed=3, accuracy=_lr_driven)
    imp = param_importances(cands, space)
    assert "kernel_size" not in imp
    assert "p1" not in imp  # macro.mutable[0] is false in config.yaml
    assert list(imp) == [p.name for p in space.features]
    assert imp["learning_rate"] > 0.5


def test_single_valued_feature_scores_zero(search_cfg):
    space = space_from_config(search_cfg)
    cands = _candidates(space, 40, seed=4, accuracy=_lr_driven)
    for c in cands:
        c["macro"][MACRO_BITS.index("p3")] = 0
        c["params"]["dropout_rate"] = 0.2
    imp = param_importances(cands, space)
    assert imp["p3"] == 0.0 and imp["dropout_rate"] == 0.0
    assert sum(imp.values()) == pytest.approx(1.0, abs=1e-9)
    assert imp["learning_rate"] > 0.5


def test_nothing_to_fit_gives_zeros(search_cfg):
    space = space_from_config(search_cfg)
    names = [p.name for p in space.features]
    cands = _candidates(space, 10, seed=5, accuracy=_lr_driven)
    assert param_importances([], space) == dict.fromkeys(names, 0.0)
    assert param_importances(cands[:1], space) == dict.fromkeys(names, 0.0)
    flat = [{**c, "accuracy": 0.8} for c in cands]
    assert param_importances(flat, space) == dict.fromkeys(names, 0.0)
    with pytest.raises(ValueError, match="finite"):
        param_importances([{**cands[0], "accuracy": math.nan}, cands[1]], space)


def test_verbosity_restored(search_cfg):
    space = space_from_config(search_cfg)
    cands = _candidates(space, 12, seed=6, accuracy=_lr_driven)
    old = optuna.logging.get_verbosity()
    try:
        optuna.logging.set_verbosity(optuna.logging.DEBUG)
        param_importances(cands, space)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(old)


def test_the_optuna_view_of_the_space(search_cfg):
    """The importances' study and the optuna-tpe baseline share one mapping of the space."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from hhnas.search.optuna_tpe import optuna_distributions, optuna_trial_params

    strategy = OptunaTPEStrategy(search_cfg)
    dists = optuna_distributions(strategy.space)
    assert strategy.distributions() == dists
    assert dists["p2"] == CategoricalDistribution([0, 1])
    assert dists["learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["kernel_size"] == CategoricalDistribution([1, 2, 3, 4, 5, 6, 7])
    assert "p1" not in dists  # fixed by default
    row = optuna_trial_params(strategy.space, [1, 1, 0], dict(strategy.space.initial))
    assert row["p2"] == 1 and row["p3"] == 0 and row["learning_rate"] == 2e-3


def test_final_mutation_probabilities():
    # Q sums 2, 1, 4; P = Q / 4 * 0.5.
    state = {
        "q_table": {
            "p2": {"+": 1.5, "-": 0.5},
            "learning_rate": {"+": 0.25, "-": 0.75},
            "kernel_size": {"+": 1.0, "-": 3.0},
        }
    }
    probs = final_mutation_probabilities(state, max_prob=0.5)
    assert probs == pytest.approx({"p2": 0.25, "learning_rate": 0.125, "kernel_size": 0.5})
    assert list(probs) == ["p2", "learning_rate", "kernel_size"]
    assert final_mutation_probabilities({"history": []}, 0.5) == {}
