"""The noise floor's selection, pooling and detectable difference, against hand computations."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from hhnas.study.noise import (
    choose_configurations,
    detectable_difference,
    measure,
    pooled_sd,
    retrain_seed,
    summarise,
    top_sd,
)


def _cand(lr: float, val: float | None) -> dict:
    return {"macro": [1, 0, 0], "params": {"learning_rate": lr}, "model": 1, "val_acc": val}


CANDS = [_cand(0.1, 0.80), _cand(0.2, 0.90), _cand(0.3, None), _cand(0.4, 0.90), _cand(0.5, 0.70)]


def test_best_by_validation_ties_to_the_first_seen_then_random_among_the_rest() -> None:
    chosen = choose_configurations(CANDS, best=2, n_random=5, seed=0)
    kinds = [c["kind"] for c in chosen]
    assert kinds == ["best", "best", "random", "random"]
    # 0.90 twice: the first seen (lr 0.2) comes first; the failed one is never chosen.
    assert [c["params"]["learning_rate"] for c in chosen[:2]] == [0.2, 0.4]
    assert sorted(c["params"]["learning_rate"] for c in chosen[2:]) == [0.1, 0.5]
    assert chosen == choose_configurations(CANDS, best=2, n_random=5, seed=0)


def test_pooled_sd_weights_by_degrees_of_freedom() -> None:
    # Variances 1 (n=3: 1,2,3) and 4 (n=2: 0, 2.828...): (2*1 + 1*4) / 3 = 2.
    groups = [[1.0, 2.0, 3.0], [0.0, 2 * math.sqrt(2)], [5.0]]
    assert pooled_sd(groups) == pytest.approx(math.sqrt(2.0))
    assert math.isnan(pooled_sd([[1.0]]))


def test_detectable_difference_is_the_power_formula() -> None:
    # sd 1, n 10 per variant: (t_.975,18 + t_.8,18) * sqrt(2/10) = (2.1009 + 0.8620) * 0.4472
    assert detectable_difference(1.0, 10) == pytest.approx(1.3251, abs=1e-4)
    assert detectable_difference(1.0, 10, paired_sd=True) == pytest.approx(
        (stats.t.ppf(0.975, 9) + stats.t.ppf(0.8, 9)) / math.sqrt(10)
    )
    assert detectable_difference(1.0, 200) < detectable_difference(1.0, 10)
    assert math.isnan(detectable_difference(1.0, 1))


def test_measure_retrains_with_fresh_seeds_and_summarises() -> None:
    seen: list[int] = []

    def train(macro, params, seed):
        seen.append(seed)
        if seed == retrain_seed(7, 1, 0):
            return {"status": "failed", "val_acc": 0.0, "test_acc": 0.0}
        return {"status": "ok", "val_acc": params["learning_rate"], "test_acc": 0.5}

    configs = choose_configurations(CANDS, best=1, n_random=1, seed=0)
    measured = measure(configs, train, seeds=3, seed=7)
    assert len(set(seen)) == 6
    assert seen == [retrain_seed(7, k, r) for k in range(2) for r in range(3)]
    assert [m["failed"] for m in measured] == [0, 1]
    assert measured[0]["val"] == [20.0, 20.0, 20.0]
    out = summarise(measured)
    assert out["val_sd"] == 0.0
    assert out["configurations"][1]["n"] == 2


def test_the_surrogate_noise_is_the_best_configurations_sd() -> None:
    summary = {"val_sd": 5.0, "val_sd_best": 0.4, "test_sd": 6.0, "test_sd_best": math.nan}
    assert top_sd(summary, "val") == 0.4
    assert top_sd(summary, "test") == 6.0  # no best configuration retrained: all of them
