"""Iteration chains advance in step (rules/search.smk `priority:`), asserted from the order in
which a real Snakemake run started its jobs."""

from __future__ import annotations

import re

import pytest
from conftest import make_workdir, run_snakemake, seed_features

pytestmark = pytest.mark.slow
WILDCARDS = re.compile(
    r"wildcards: dataset=(\S+), variant=(\S+), experiment=(\d+), iteration=(\d+)"
)


def started_iterations(log: str) -> list[tuple[str, int]]:
    """(chain, iteration) of each search iteration in the order Snakemake started them."""
    return [(f"{m[1]}/{m[2]}/{m[3]}", int(m[4])) for m in WILDCARDS.finditer(log)]


def max_spread(order: list[tuple[str, int]], iterations: int) -> int:
    """The largest gap, at any start, between the iteration started and the least advanced
    chain that still has iterations to run."""
    chains = {chain for chain, _ in order}
    started = {chain: -1 for chain in chains}
    spread = 0
    for chain, i in order:
        started[chain] = i
        open_chains = [s for s in started.values() if s < iterations - 1]
        if open_chains:
            spread = max(spread, i - min(open_chains))
    return spread


def test_max_spread_by_hand():
    # a runs ahead by 3 while b waits at -1: spread 3 (a at 2, b not started)
    order = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert max_spread(order, 3) == 3
    lockstep = [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    assert max_spread(lockstep, 3) == 1


def test_chains_stay_within_two_iterations_of_each_other(tmp_path, feature_run):
    iterations = 8
    wd = make_workdir(
        tmp_path,
        {
            "run_datasets": ["spider"],
            "tables": {"spider": "spider", "heldout": "spider"},
            "search": {"experiments": 3, "iterations": iterations},
        },
    )
    run_snakemake(seed_features(wd, feature_run))
    log = sorted((wd / ".snakemake" / "log").glob("*.snakemake.log"))[-1].read_text()
    order = started_iterations(log)
    assert len(order) == 3 * iterations
    assert max_spread(order, iterations) <= 2, order
