"""Strategies run in lockstep against an evaluator propose exactly what they propose one seed at
a time, as the iteration jobs run them."""

from __future__ import annotations

import math

import pytest

from hhnas.config import Search, load, merged
from hhnas.search.objective import objective
from hhnas.search.strategy import make_strategy
from hhnas.study.simulate import experiment_seeds, run_searches, summary

STRATEGIES = ["hhnas", "random-mutation", "random", "optuna-tpe"]


def _search(strategy: str) -> dict:
    cfg = load(merged("config/config.yaml"))
    return {**cfg.variant_search["hhnas"], "strategy": strategy}


def _accuracy(macro, params) -> float:
    """A deterministic stand-in objective; a learning rate above 0.05 'fails'."""
    if params["learning_rate"] > 0.05:
        return math.nan
    return 0.9 - 0.05 * (math.log10(params["learning_rate"]) + 3) ** 2 + 0.02 * macro[2]


def _result(c: dict) -> dict:
    acc = _accuracy(c["macro"], c["params"])
    if math.isnan(acc):
        return {"status": "failed", "val_acc": 0.0, "test_acc": 0.0}
    return {"status": "ok", "val_acc": acc, "test_acc": acc - 0.01}


def _one_at_a_time(search: dict, seed: int, iterations: int, tmp_path) -> list[tuple]:
    """As the iteration jobs run one search: a fresh strategy object per iteration (optuna-tpe
    keeps its study in a directory, as beside the state files)."""
    state = None
    out = []
    for _ in range(iterations):
        strategy = make_strategy(Search.from_mapping(search), study_dir=tmp_path / f"s{seed}")
        state = strategy.initial_state(seed) if state is None else state
        cand, state = strategy.propose(state)
        result = _result(cand)
        state = strategy.observe(state, cand, objective(result, search)["objective"])
        out.append((cand["macro"], cand["params"], result["status"]))
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_lockstep_searches_propose_what_single_searches_do(strategy: str, tmp_path) -> None:
    search = _search(strategy)
    seeds = experiment_seeds(1, 3)
    assert seeds == [1001, 1002, 1003]
    traces = run_searches(search, seeds, 12, lambda it, cands: [_result(c) for c in cands])
    for trace in traces:
        got = [(r["macro"], r["params"], r["status"]) for r in trace.records]
        assert got == _one_at_a_time(search, trace.seed, 12, tmp_path)


def test_summary_reads_best_and_test_at_best() -> None:
    search = _search("random")
    traces = run_searches(search, [5, 6], 8, lambda it, cands: [_result(c) for c in cands])
    out = summary(traces)
    for k, t in enumerate(traces):
        ok = [r for r in t.records if r["status"] == "ok"]
        best = max(ok, key=lambda r: r["val_acc"])
        assert out["best_val"][k] == pytest.approx(best["val_acc"] * 100)
        assert out["test_at_best"][k] == pytest.approx(best["test_acc"] * 100)
        assert out["failed"][k] == len(t.records) - len(ok)
        assert out["curves"][k][-1] == pytest.approx(best["val_acc"] * 100)


def test_an_evaluator_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="returned 0 results for 2"):
        run_searches(_search("random"), [1, 2], 1, lambda it, cands: [])
