"""Mutation operators of the paper: flip a bit, step a discrete value, resample mu +/- |x|."""

from __future__ import annotations

import math
import random
from typing import Any

from hhnas.records import Action, MeanVar, Mutations, Params
from hhnas.search.qtable import direction_probability, mutation_probabilities
from hhnas.search.space import BINARY, CONTINUOUS, MACRO_BITS, Parameter, SearchSpace


def flip(bit: int) -> tuple[int, Action]:
    """A bit mutates only by flipping; 0->1 is recorded as '+', 1->0 as '-'."""
    return (1, "+") if int(bit) == 0 else (0, "-")


def step_discrete(p: Parameter, value: Any, action: Action) -> tuple[Any, Action]:
    """Move one position along `choices`. At an end the blocked step turns into the other one
    (so a chosen mutation always changes the value); the action actually taken is returned."""
    i = p.choices.index(value)
    j = i + 1 if action == "+" else i - 1
    if not 0 <= j < len(p.choices):
        action = "-" if action == "+" else "+"
        j = i + 1 if action == "+" else i - 1
    if not 0 <= j < len(p.choices):  # a single choice cannot move
        return value, action
    return p.choices[j], action


def sample_continuous(mu: float, var: float, action: Action, rng: random.Random) -> float:
    """mu + |x| for '+', mu - |x| for '-', x ~ N(0, var); clipped to the unit range."""
    x = abs(rng.gauss(0.0, math.sqrt(var)))
    u = mu + x if action == "+" else mu - x
    return min(1.0, max(0.0, u))


def mutate(
    space: SearchSpace,
    macro: list[int],
    params: Params,
    q: dict[str, dict[str, float]],
    stats: dict[str, MeanVar],
    max_prob: float,
    require_mutation: bool,
    rng: random.Random,
) -> tuple[list[int], Params, Mutations]:
    """Mutate each feature independently with probability P(s); returns the new macro bits, the new
    parameters, and per mutated feature its action and (continuous) unit-scale sample."""
    probs = mutation_probabilities(q, max_prob)
    features = space.features
    chosen = [p for p in features if rng.random() < probs[p.name]]
    if not chosen and require_mutation:
        # Otherwise a round would re-evaluate its parent; pick one feature in proportion to P(s).
        chosen = [rng.choices(features, weights=[probs[p.name] for p in features])[0]]
    new_macro, new_params = list(macro), dict(params)
    mutated: Mutations = {}
    for p in features:
        if p not in chosen:
            continue
        if p.type == BINARY:
            idx = MACRO_BITS.index(p.name)
            new_macro[idx], action = flip(new_macro[idx])
            mutated[p.name] = {"action": action}
            continue
        action: Action = "+" if rng.random() < direction_probability(q, p.name) else "-"
        if p.type == CONTINUOUS:
            u = sample_continuous(stats[p.name]["mean"], stats[p.name]["var"], action, rng)
            new_params[p.name] = p.from_unit(u)
            mutated[p.name] = {"action": action, "sample": u}
        else:
            new_params[p.name], action = step_discrete(p, params[p.name], action)
            mutated[p.name] = {"action": action}
    return new_macro, new_params, mutated
