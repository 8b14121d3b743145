"""Random search: the baseline every NAS method has to beat."""

from __future__ import annotations

from hhnas.records import Candidate, SearchState
from hhnas.search.base import (
    SearchStrategy,
    changes_from_initial,
    copy_state,
    make_candidate,
    record,
    reward_baseline,
    rng_from_json,
    rng_to_json,
)
from hhnas.search.space import BINARY, CONTINUOUS, MACRO_BITS


class RandomStrategy(SearchStrategy):
    """Independent uniform samples of the space at every iteration, iteration 0 included.

    Mutable macro bits are uniform in {0, 1} (so [0, 0, 0] can be drawn when all three are
    mutable; it is trained, fails and is recorded like any other candidate, as in HHNAS),
    continuous parameters uniform in the unit scale (log-uniform for `log: true`), discrete ones
    uniform over `choices`; immutable ones keep their initial value. One draw per feature in the
    order of `space.features`. `mutated` lists the features that differ from their initial value
    (direction '+' = larger), since there is no parent; `current` is the last candidate.
    Accuracies are recorded, never used.
    """

    name = "random"

    def propose(self, state: SearchState) -> tuple[Candidate, SearchState]:
        state = copy_state(state)
        space = self.space
        rng = rng_from_json(state["rng"])
        macro, params = list(space.macro_initial), dict(space.initial)
        for p in space.features:
            if p.type == BINARY:
                macro[MACRO_BITS.index(p.name)] = int(rng.random() < 0.5)
            elif p.type == CONTINUOUS:
                params[p.name] = p.from_unit(rng.random())
            else:
                params[p.name] = p.choices[rng.randrange(len(p.choices))]
        state["rng"] = rng_to_json(rng)
        mutated = changes_from_initial(space, macro, params)
        return make_candidate(state["iteration"] + 1, macro, params, mutated), state

    def observe(self, state: SearchState, candidate: Candidate, accuracy: float) -> SearchState:
        state = copy_state(state)
        reward = accuracy - reward_baseline(state, accuracy, self.cfg.reward_baseline)
        return record(state, candidate, accuracy, reward, "last")
