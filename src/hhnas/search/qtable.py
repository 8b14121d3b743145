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


Q_UPDATES = ("additive", "multiplicative", "mean", "ema")


def init_qcounts(features: list[str], prior_weight: float) -> dict[str, dict[str, float]]:
    """For `q_update: mean`: the evidence behind each Q(s,a), starting at the prior's weight."""
    return {s: {"+": float(prior_weight), "-": float(prior_weight)} for s in features}


def update_q(
    q: dict[str, dict[str, float]],
    s: str,
    action: str,
    reward: float,
    alpha: float,
    update: str,
    q_min: float,
    *,
    value: float | None = None,
    weight: float = 1.0,
    counts: dict[str, dict[str, float]] | None = None,
) -> None:
    """Apply one evaluated mutation to Q(s, action), in place.

    The paper says only that an improving mutation raises its Q-value and that the Q-table
    estimates "the expected reward for performing an action on a given parameter".

    * `additive` Q + alpha*w*r and `multiplicative` Q * exp(alpha*w*r) learn from the reward
      r = p - p_hat. They are running sums, not estimates of an expectation (kept as the
      paper-literal reading of 2026-11).
    * `mean` and `ema` estimate the expected `value` (the candidate's accuracy, which the paper
      calls the reward signal) after the action: `mean` is the weighted running mean with q_init
      as a prior of weight counts' initial value, `ema` is Q + alpha*w*(value - Q), alpha in
      (0, 1]. Accuracies are >= 0 and the prior is > 0, so Q stays positive.

    `weight` w is the share of the evidence this feature gets (1, or 1/n when n features mutated
    together and `search.credit: shared`). Every rule is floored at q_min: the ratios P(s) and
    Q(s,+)/Q(s) divide by Q, and an accuracy-minus-cost value can be negative.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    cur = q[s][action]
    if update == "additive":
        new = cur + alpha * weight * reward
    elif update == "multiplicative":
        new = cur * math.exp(alpha * weight * reward)
    elif update in ("mean", "ema"):
        if value is None:
            raise ValueError(f"q_update={update!r} needs the candidate's value")
        if update == "mean":
            if counts is None:
                raise ValueError("q_update='mean' needs the evidence counts")
            n = counts[s][action] + weight
            counts[s][action] = n
            new = cur + weight * (value - cur) / n
        else:
            new = cur + min(1.0, alpha * weight) * (value - cur)
    else:
        raise ValueError(f"search.q_update must be one of {', '.join(Q_UPDATES)}, got {update!r}")
    q[s][action] = max(q_min, new)
