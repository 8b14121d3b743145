"""The Q-table of the paper: Q(s,+), Q(s,-) per mutable feature and the probabilities it implies."""

from __future__ import annotations

import math

ACTIONS = ("+", "-")


def init_qtable(features: list[str], q_init: float) -> dict[str, dict[str, float]]:
    return {s: {"+": float(q_init), "-": float(q_init)} for s in features}


def cumulative_q(q: dict[str, dict[str, float]], s: str) -> float:
    """Q(s) = sum over a in {+,-} of Q(s,a)."""
    return q[s]["+"] + q[s]["-"]


def mutation_probabilities(q: dict[str, dict[str, float]], max_prob: float) -> dict[str, float]:
    """P(s) = Q(s) / max_s' Q(s') * maxProb."""
    totals = {s: cumulative_q(q, s) for s in q}
    top = max(totals.values())
    return {s: totals[s] / top * max_prob for s in q}


def direction_probability(q: dict[str, dict[str, float]], s: str) -> float:
    """Probability of '+': Q(s,+) / (Q(s,+) + Q(s,-)); '-' gets the rest."""
    return q[s]["+"] / cumulative_q(q, s)


def update_q(
    q: dict[str, dict[str, float]],
    s: str,
    action: str,
    reward: float,
    alpha: float,
    rule: str,
    q_min: float,
) -> None:
    """Apply the reward of one evaluated mutation to Q(s, action), in place.

    The paper says only that an improving mutation raises its Q-value. Both rules keep Q > 0,
    which the ratios P(s) and Q(s,+)/Q(s) need: `additive` is Q + alpha*r floored at q_min,
    `multiplicative` is Q * exp(alpha*r).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if rule == "additive":
        q[s][action] = max(q_min, q[s][action] + alpha * reward)
    elif rule == "multiplicative":
        q[s][action] = max(q_min, q[s][action] * math.exp(alpha * reward))
    else:
        raise ValueError(f"search.q_update must be 'additive' or 'multiplicative', got {rule!r}")
