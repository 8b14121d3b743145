"""Search strategies behind one interface: a pure function of (state, config) to the next state."""

from __future__ import annotations

import copy
import random
from abc import ABC, abstractmethod
from typing import Any

from hhnas.search.mutation import mutate
from hhnas.search.qtable import init_qtable, update_q
from hhnas.search.space import CONTINUOUS, SearchSpace, model_number, space_from_config
from hhnas.search.statistics import update_mean, update_variance


def rng_to_json(rng: random.Random) -> list:
    version, internal, gauss_next = rng.getstate()
    return [version, list(internal), gauss_next]


def rng_from_json(data: list) -> random.Random:
    rng = random.Random()
    rng.setstate((data[0], tuple(data[1]), data[2]))
    return rng


class SearchStrategy(ABC):
    """One iteration = propose(state) -> train the candidate -> observe(state, candidate, acc).

    States are plain JSON-able dicts (see hhnas.search.state) so that every iteration can be its
    own job and a killed run resumes from the last state file.
    """

    name: str

    def __init__(self, search_cfg: dict[str, Any]):
        self.cfg = search_cfg
        self.space: SearchSpace = space_from_config(search_cfg)

    @abstractmethod
    def initial_state(self, seed: int) -> dict[str, Any]: ...

    @abstractmethod
    def propose(self, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (candidate, state with the RNG advanced)."""

    @abstractmethod
    def observe(
        self, state: dict[str, Any], candidate: dict[str, Any], accuracy: float
    ) -> dict[str, Any]:
        """Return the state after learning from the candidate's accuracy."""


class HHNASStrategy(SearchStrategy):
    """HHNAS-AM: Q-table-driven mutation of macro bits and micro parameters (paper, Algorithm 1)."""

    name = "hhnas"

    def initial_state(self, seed: int) -> dict[str, Any]:
        cfg, space = self.cfg, self.space
        names = [p.name for p in space.features]
        stats = {
            p.name: {"mean": p.to_unit(space.initial[p.name]), "var": float(cfg["var_init"])}
            for p in space.params
            if p.kind == CONTINUOUS
        }
        return {
            "seed": seed,
            "iteration": -1,
            "current": {"macro": list(space.macro_initial), "params": dict(space.initial)},
            "best": None,
            "q_table": init_qtable(names, cfg["q_init"]),
            "stats": stats,
            "accuracies": [],
            "history": [],
            "rng": rng_to_json(random.Random(seed)),
        }

    def propose(self, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        state = _copy(state)
        cur = state["current"]
        if state["iteration"] < 0:
            # Iteration 0 evaluates the initial architecture A of Algorithm 1 unchanged.
            macro, params, mutated = list(cur["macro"]), dict(cur["params"]), {}
        else:
            rng = rng_from_json(state["rng"])
            macro, params, mutated = mutate(
                self.space,
                cur["macro"],
                cur["params"],
                state["q_table"],
                state["stats"],
                float(self.cfg["max_prob"]),
                bool(self.cfg["require_mutation"]),
                rng,
            )
            state["rng"] = rng_to_json(rng)
        candidate = {
            "iteration": state["iteration"] + 1,
            "macro": macro,
            "model": model_number(macro),
            "params": params,
            "mutated": mutated,
        }
        return candidate, state

    def observe(
        self, state: dict[str, Any], candidate: dict[str, Any], accuracy: float
    ) -> dict[str, Any]:
        state, cfg = _copy(state), self.cfg
        past = state["accuracies"]
        # p_hat: running average of the accuracies evaluated before this candidate.
        avg = sum(past) / len(past) if past else accuracy
        reward = accuracy - avg
        k = float(cfg["k"])
        for name, m in candidate["mutated"].items():
            update_q(
                state["q_table"],
                name,
                m["action"],
                reward,
                float(cfg["q_alpha"]),
                cfg["q_update"],
                float(cfg["q_min"]),
            )
            if "sample" in m:
                st = state["stats"][name]
                mu_old, s = st["mean"], m["sample"]
                mu_new = update_mean(mu_old, s, accuracy, avg, k, cfg["mean_rule"])
                mu_for_var = mu_old if cfg["variance_mean"] == "old" else mu_new
                st["var"] = update_variance(
                    st["var"],
                    mu_for_var,
                    s,
                    accuracy,
                    avg,
                    k,
                    cfg["variance_rule"],
                    float(cfg["var_min"]),
                    float(cfg["var_max"]),
                )
                st["mean"] = min(1.0, max(0.0, mu_new))
        entry = {
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
        parent = state["best"] if cfg["parent"] == "best" else entry
        state["current"] = {"macro": list(parent["macro"]), "params": dict(parent["params"])}
        return state


STRATEGIES: dict[str, type[SearchStrategy]] = {HHNASStrategy.name: HHNASStrategy}


def make_strategy(search_cfg: dict[str, Any]) -> SearchStrategy:
    name = search_cfg.get("strategy", "hhnas")
    if name not in STRATEGIES:
        raise ValueError(
            f"search.strategy={name!r} is unknown; allowed: {', '.join(sorted(STRATEGIES))}"
        )
    return STRATEGIES[name](search_cfg)


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(state)
