"""HHNAS-AM: Q-table-driven mutation of macro bits and micro parameters (paper, Algorithm 1)."""

from __future__ import annotations

from hhnas.records import Candidate, SearchState
from hhnas.search.base import (
    SearchStrategy,
    copy_state,
    make_candidate,
    new_state,
    record,
    reward_baseline,
    rng_from_json,
    rng_to_json,
)
from hhnas.search.mutation import mutate
from hhnas.search.qtable import init_qcounts, init_qtable, update_q
from hhnas.search.space import CONTINUOUS
from hhnas.search.statistics import update_mean, update_variance


class HHNASStrategy(SearchStrategy):
    """The paper's search: mutate the parent, then reward the Q-values and mu/sigma^2 of what was
    mutated by how much the child beat the running average accuracy."""

    name = "hhnas"
    # random-mutation turns this off: the same operator without the Q-table/moment updates.
    learns = True

    def initial_state(self, seed: int) -> SearchState:
        space, var_init = self.space, self.cfg.var_init
        features = space.features
        state = new_state(space, seed)
        names = [p.name for p in features]
        state["q_table"] = init_qtable(names, self.cfg.q_init)
        if self.cfg.q_update == "mean":
            state["q_counts"] = init_qcounts(names, self.cfg.q_prior_weight)
        state["stats"] = {
            p.name: {"mean": p.to_unit(space.initial[p.name]), "var": var_init}
            for p in features
            if p.type == CONTINUOUS
        }
        return state

    def propose(self, state: SearchState) -> tuple[Candidate, SearchState]:
        state = copy_state(state)
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
                self.cfg.max_prob,
                self.cfg.require_mutation,
                rng,
            )
            state["rng"] = rng_to_json(rng)
        return make_candidate(state["iteration"] + 1, macro, params, mutated), state

    def observe(self, state: SearchState, candidate: Candidate, accuracy: float) -> SearchState:
        state = copy_state(state)
        avg = reward_baseline(state, accuracy, self.cfg.reward_baseline, self.cfg.parent)
        reward = accuracy - avg
        if self.learns:
            self._learn(state, candidate, accuracy, avg, reward)
        return record(state, candidate, accuracy, reward, self.cfg.parent)

    def _learn(
        self,
        state: SearchState,
        candidate: Candidate,
        accuracy: float,
        avg: float,
        reward: float,
    ) -> None:
        """Update the Q-table and the continuous statistics in place."""
        cfg = self.cfg
        k = cfg.k
        mutated = candidate["mutated"]
        # search.credit: every mutated feature gets the whole evidence, or a 1/n share of it.
        weight = 1.0 / len(mutated) if cfg.credit == "shared" and mutated else 1.0
        for name, m in mutated.items():
            update_q(
                state["q_table"],
                name,
                m["action"],
                reward,
                cfg.q_alpha,
                cfg.q_update,
                cfg.q_min,
                value=accuracy,
                weight=weight,
                counts=state.get("q_counts"),
            )
            if "sample" in m:
                st = state["stats"][name]
                mu_old, s = st["mean"], m["sample"]
                mu_new = update_mean(mu_old, s, accuracy, avg, k, cfg.mean_update)
                mu_for_var = mu_old if cfg.variance_mean == "old" else mu_new
                st["var"] = update_variance(
                    st["var"],
                    mu_for_var,
                    s,
                    accuracy,
                    avg,
                    k,
                    cfg.variance_update,
                    cfg.var_min,
                    cfg.var_max,
                )
                st["mean"] = min(1.0, max(0.0, mu_new))
