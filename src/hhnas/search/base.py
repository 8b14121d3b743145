"""The strategy interface and the state layout that every strategy shares.

Every state is a plain JSON-able dict with at least: seed, iteration (-1 before the first),
current {macro, params}, best (a history entry or None), accuracies, history and rng, so that the
reports and the resume logic read all strategies alike.
"""

from __future__ import annotations

import copy
import os
import random
from abc import ABC, abstractmethod

from hhnas.config import Search
from hhnas.config.templates import model_number
from hhnas.records import Candidate, HistoryEntry, Mutations, Params, SearchState
from hhnas.search.objective import FAILED_SCORE
from hhnas.search.space import BINARY, CONTINUOUS, SearchSpace, space_from_config


def rng_to_json(rng: random.Random) -> list:
    version, internal, gauss_next = rng.getstate()
    return [version, list(internal), gauss_next]


def rng_from_json(data: list) -> random.Random:
    rng = random.Random()
    rng.setstate((data[0], tuple(data[1]), data[2]))
    return rng


class SearchStrategy(ABC):
    """One iteration = propose(state) -> train the candidate -> observe(state, candidate, acc).

    States are plain JSON-able dicts so that every iteration can be its own job and a killed run
    resumes from the last state file. `study_dir` is where a strategy may keep files beside its
    states (only optuna-tpe does; None keeps them in memory).
    """

    name: str

    def __init__(self, search: Search, study_dir: str | os.PathLike | None = None):
        self.cfg = search
        self.space: SearchSpace = space_from_config(self.cfg.raw)
        self.study_dir = None if study_dir is None else os.fspath(study_dir)

    def initial_state(self, seed: int) -> SearchState:
        return new_state(self.space, seed)

    @abstractmethod
    def propose(self, state: SearchState) -> tuple[Candidate, SearchState]:
        """Return (candidate, state with the RNG advanced)."""

    @abstractmethod
    def observe(self, state: SearchState, candidate: Candidate, accuracy: float) -> SearchState:
        """Return the state after learning from the candidate's accuracy."""


def new_state(space: SearchSpace, seed: int) -> SearchState:
    return {
        "seed": seed,
        "iteration": -1,
        "current": {"macro": list(space.macro_initial), "params": dict(space.initial)},
        "best": None,
        "accuracies": [],
        "history": [],
        "rng": rng_to_json(random.Random(seed)),
    }


def copy_state(state: SearchState) -> SearchState:
    return copy.deepcopy(state)


def make_candidate(
    iteration: int,
    macro: list[int],
    params: Params,
    mutated: Mutations,
    trial: int | None = None,
) -> Candidate:
    candidate: Candidate = {
        "iteration": iteration,
        "macro": list(macro),
        "model": model_number(macro),
        "params": dict(params),
        "mutated": mutated,
    }
    if trial is not None:
        candidate["trial"] = trial
    return candidate


BASELINES = ("all", "ok", "parent")


def reward_baseline(
    state: SearchState, accuracy: float, baseline: str = "all", parent: str = "last"
) -> float:
    """p_hat, what the candidate's accuracy is compared with (`search.reward_baseline`).

    * `all`: the mean of every accuracy evaluated before this candidate (the paper's "running
      average accuracy"; failures count with their score 0).
    * `ok`: the same over the earlier candidates that did not fail (score != FAILED_SCORE).
    * `parent`: the accuracy of the candidate that was mutated (the best so far with
      `parent: best`, else the last one evaluated).

    The first candidate, or one with no earlier candidate to compare with, is its own baseline
    (reward 0).
    """
    accuracies = state["accuracies"]
    if baseline == "all":
        pool = accuracies
    elif baseline == "ok":
        pool = [a for a in accuracies if a != FAILED_SCORE]
    elif baseline == "parent":
        if not state["history"]:
            return accuracy
        return float((state["best"] if parent == "best" else state["history"][-1])["accuracy"])
    else:
        raise ValueError(
            f"search.reward_baseline must be one of {', '.join(BASELINES)}, got {baseline!r}"
        )
    return sum(pool) / len(pool) if pool else accuracy


def record(
    state: SearchState,
    candidate: Candidate,
    accuracy: float,
    reward: float,
    parent: str,
) -> SearchState:
    """Append the evaluated candidate to `state` in place; `parent` (last|best) sets `current`."""
    entry: HistoryEntry = {
        "iteration": candidate["iteration"],
        "model": candidate["model"],
        "macro": candidate["macro"],
        "params": candidate["params"],
        "mutated": candidate["mutated"],
        "accuracy": accuracy,
        "reward": reward,
    }
    state["history"].append(entry)
    state["accuracies"].append(accuracy)
    state["iteration"] = candidate["iteration"]
    best = state["best"]
    if best is None or accuracy > best["accuracy"]:
        state["best"] = entry
    chosen = state["best"] if parent == "best" else entry
    state["current"] = {"macro": list(chosen["macro"]), "params": dict(chosen["params"])}
    return state


def changes_from_initial(space: SearchSpace, macro: list[int], params: Params) -> Mutations:
    """`mutated` for strategies without a parent: each feature whose value differs from its
    initial value, with the direction of the difference ('+' = larger / later in `choices`)."""
    initial_macro, initial_params = list(space.macro_initial), space.initial
    out: Mutations = {}
    for p in space.features:
        new = space.value_of(p, macro, params)
        old = space.value_of(p, initial_macro, initial_params)
        if new == old:
            continue
        if p.type in (BINARY, CONTINUOUS):
            up = new > old
        else:
            up = p.choices.index(new) > p.choices.index(old)
        out[p.name] = {"action": "+" if up else "-"}
    return out
