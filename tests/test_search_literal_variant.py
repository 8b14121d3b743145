"""The paper-literal HHNAS of 2026-12-02 (additive Q sums, p_hat over every earlier candidate,
whole reward to every mutated feature) stays runnable as the ablation `hhnas-literal`, with
state files byte-identical to those that code wrote.

tests/data/hhnas_literal_states.json was recorded with that code (commit d3e9f4a) by
`python tests/test_search_literal_variant.py --record`: per experiment seed, the SHA-256 of every
state JSON after each observe, chained, on a synthetic objective that also fails candidates;
and the jobs' config hash of the default config. The same objective drives the new code here.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, load_config  # noqa: E402

from hhnas.config import Search
from hhnas.jobs.iteration import search_config_hash  # noqa: E402
from hhnas.search.strategy import make_strategy  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "hhnas_literal_states.json"
SEEDS = (0, 1, 2)
ITERATIONS = 40


def synthetic_accuracy(candidate: dict) -> float:
    """A deterministic landscape: best near lr 1e-2 with RMSprop and Model 4; SGD below lr 3e-3
    and any lr outside [3e-4, 0.04] fail (0.0, what the objective gives a failed candidate)."""
    p = candidate["params"]
    lr = math.log10(p["learning_rate"])
    sgd_too_slow = p["criterion_num"] == 1 and p["learning_rate"] < 3e-3
    if sgd_too_slow or not 3e-4 <= p["learning_rate"] <= 0.04:
        return 0.0
    acc = 0.9 - 0.08 * (lr + 2.0) ** 2 - 0.1 * p["dropout_rate"] ** 2
    acc += 0.01 * candidate["model"] + 0.005 * p["criterion_num"]
    acc -= 0.02 * abs(math.log2(p["layer_size1"] / 256))
    noise = hashlib.sha256(json.dumps(candidate["params"], sort_keys=True).encode()).digest()
    return max(0.01, min(0.99, acc + (noise[0] / 255 - 0.5) * 0.02))


def state_chain(search_cfg: dict, seed: int, iterations: int = ITERATIONS) -> str:
    strategy = make_strategy(Search.from_mapping(search_cfg))
    state = strategy.initial_state(seed)
    h = hashlib.sha256()
    for _ in range(iterations):
        candidate, state = strategy.propose(state)
        state = strategy.observe(state, candidate, synthetic_accuracy(candidate))
        h.update(json.dumps(state, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def literal_config() -> dict:
    """config/config.yaml with config/ablations/hhnas-literal.yaml merged over its search."""
    from hhnas.config.variants import deep_merge, load_ablation

    config = load_config()
    path = ROOT / "config" / "ablations" / "hhnas-literal.yaml"
    if path.is_file():
        config["search"] = deep_merge(config["search"], load_ablation(str(path)))
    return config


def recorded() -> dict:
    config = literal_config()
    return {
        "config_hash": search_config_hash(config, "spider"),
        "iterations": ITERATIONS,
        "chains": {str(s): state_chain(config["search"], s) for s in SEEDS},
    }


@pytest.fixture(scope="module")
def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("seed", SEEDS)
def test_literal_variant_states_equal_the_recorded_ones(fixture: dict, seed: int) -> None:
    assert state_chain(literal_config()["search"], seed) == fixture["chains"][str(seed)]


def test_literal_variant_keeps_the_jobs_config_hash(fixture: dict) -> None:
    assert search_config_hash(literal_config(), "spider") == fixture["config_hash"]


def test_the_synthetic_objective_exercises_failures() -> None:
    """Each recorded chain includes failed candidates, so the failure path is pinned too."""
    config = literal_config()
    strategy = make_strategy(Search.from_mapping(config["search"]))
    for seed in SEEDS:
        state = strategy.initial_state(seed)
        scores = []
        for _ in range(ITERATIONS):
            candidate, state = strategy.propose(state)
            scores.append(synthetic_accuracy(candidate))
            state = strategy.observe(state, candidate, scores[-1])
        assert 0.0 in scores, seed


if __name__ == "__main__" and "--record" in sys.argv:
    FIXTURE.write_text(json.dumps(recorded(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
