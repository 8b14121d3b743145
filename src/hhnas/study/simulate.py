"""Search strategies run unchanged, with only the evaluation replaced.

The surrogate benchmark (hhnas.study.surrogate) asks the question of the study for hundreds of
seeds: each strategy proposes and observes exactly as in an iteration job
(hhnas.jobs.iteration), but the candidate's accuracy comes from an evaluator instead of
training. The searches of all seeds advance in lockstep, so that an evaluator is called once per
iteration with every seed's candidate (one batched surrogate prediction instead of thousands),
and in a fixed seed order, so that an evaluator drawing noise from one generator per iteration
gives seed j the same draws whichever variant it runs (common random numbers: the paired
comparison then sees the strategies' difference, not the noise's).

Pure Python and numpy: no torch, no files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np

from hhnas.config import Search
from hhnas.records import Candidate, CandidateRow, Evaluation, SearchState
from hhnas.search.objective import objective
from hhnas.search.strategy import make_strategy

# iteration, the candidates of every seed (in seed order) -> one result each, in that order
# (accuracies as fractions).
Evaluator = Callable[[int, list[Candidate]], list[Evaluation]]


class TraceRecord(CandidateRow):
    """One candidate of a simulated search, its simulated result and the objective observed."""

    status: Literal["ok", "failed"]
    val_acc: float
    test_acc: float
    objective: float


class Summary(TypedDict):
    """`summary` of a variant's simulated searches: one entry per seed, in seed order."""

    seeds: list[int]
    best_val: list[float | None]
    test_at_best: list[float | None]
    failed: list[int]
    curves: list[list[float]]


@dataclass(frozen=True)
class Trace:
    """One simulated search: its seed, every candidate with its result, and the final state."""

    seed: int
    records: list[TraceRecord]
    state: SearchState

    def best(self) -> TraceRecord | None:
        """The first successful record with the highest validation accuracy (ties go to the
        earliest iteration, as in the real study's tables)."""
        best = None
        for rec in self.records:
            if rec["status"] == "ok" and (best is None or rec["val_acc"] > best["val_acc"]):
                best = rec
        return best

    def best_so_far(self) -> list[float]:
        """Running maximum of the successful validation accuracies (NaN before the first)."""
        out, top = [], float("nan")
        for rec in self.records:
            if rec["status"] == "ok" and (np.isnan(top) or rec["val_acc"] > top):
                top = float(rec["val_acc"])
            out.append(top)
        return out


def run_searches(
    search_cfg: Mapping[str, Any],
    seeds: Sequence[int],
    iterations: int,
    evaluate: Evaluator,
) -> list[Trace]:
    """One search per experiment seed, `iterations` long, all advanced together.

    Each seed gets its own strategy object (optuna-tpe keeps its in-memory study between
    propose and observe) and starts from ``initial_state(seed)``, as an iteration job does for
    experiment seed ``seed``. The value observed is the search's objective of the result
    (hhnas.search.objective: a failure scores 0), as in the real jobs.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    search = Search.from_mapping(search_cfg)
    strategies = [make_strategy(search) for _ in seeds]
    states = [s.initial_state(int(seed)) for s, seed in zip(strategies, seeds, strict=True)]
    records: list[list[TraceRecord]] = [[] for _ in seeds]
    for it in range(iterations):
        proposed = [s.propose(st) for s, st in zip(strategies, states, strict=True)]
        candidates = [c for c, _ in proposed]
        for c in candidates:
            if c["iteration"] != it:
                raise RuntimeError(f"a strategy proposed iteration {c['iteration']}, not {it}")
        results = evaluate(it, candidates)
        if len(results) != len(candidates):
            raise ValueError(f"the evaluator returned {len(results)} results for {len(candidates)}")
        for j, ((cand, state), result) in enumerate(zip(proposed, results, strict=True)):
            score = objective(result, search.raw)["objective"]
            states[j] = strategies[j].observe(state, cand, score)
            records[j].append(
                {
                    "iteration": it,
                    "model": cand["model"],
                    "macro": list(cand["macro"]),
                    "params": dict(cand["params"]),
                    "mutated": sorted(cand["mutated"]),
                    "status": result["status"],
                    "val_acc": float(result["val_acc"]),
                    "test_acc": float(result["test_acc"]),
                    "objective": score,
                }
            )
    return [
        Trace(int(seed), recs, state)
        for seed, recs, state in zip(seeds, records, states, strict=True)
    ]


def experiment_seeds(search_seed: int, experiments: int) -> list[int]:
    """The experiment seeds a search seed gives (hhnas.jobs.iteration.experiment_seed)."""
    return [search_seed * 1000 + e for e in range(1, experiments + 1)]


def summary(traces: Sequence[Trace]) -> Summary:
    """Per seed, in percent: best validation accuracy, test accuracy at that candidate, the
    best-so-far curve, failures; the study's tables read these like a real experiment's."""
    out: Summary = {
        "seeds": [],
        "best_val": [],
        "test_at_best": [],
        "failed": [],
        "curves": [],
    }
    for t in traces:
        best = t.best()
        out["seeds"].append(t.seed)
        out["best_val"].append(None if best is None else best["val_acc"] * 100.0)
        out["test_at_best"].append(None if best is None else best["test_acc"] * 100.0)
        out["failed"].append(sum(r["status"] != "ok" for r in t.records))
        out["curves"].append([v * 100.0 for v in t.best_so_far()])
    return out
