"""What the search maximises: validation accuracy, or accuracy minus a cost penalty.

The paper's reward is accuracy alone; its Open Question 3 asks about cost. With
``search.reward.objective: accuracy-minus-cost`` the value handed to the strategy is

    objective = val_acc - weight * cost / scale

with ``cost`` the candidate's trainable parameters (``params``) or its mean seconds per epoch
(``seconds_per_epoch``, training and evaluation). ``scale`` puts the cost in readable units
(e.g. 1e6 parameters), ``weight`` is the accuracy (as a fraction) one unit of cost is worth. A
failed candidate scores 0 whatever its cost: the penalty must not make a crash look better
than a working candidate.
"""

from __future__ import annotations

from typing import Any, TypedDict

from hhnas.config import section_defaults
from hhnas.records import Evaluation, Score, TrainResult

# What a failed candidate scores, whatever the objective (search.reward_baseline: ok leaves
# candidates with this score out of p_hat).
FAILED_SCORE = 0.0


class Reward(TypedDict):
    """`search.reward`, every key present (the schema's defaults filled in)."""

    objective: str
    cost: str
    weight: float
    scale: float


def reward_config(search_cfg: dict[str, Any]) -> Reward:
    """The `reward` section of a raw `search` mapping, with the schema's defaults."""
    return {**section_defaults("search.reward"), **(search_cfg.get("reward") or {})}


def candidate_cost(result: TrainResult | Evaluation, cost: str) -> float | None:
    """The cost measure of a trained candidate, or None when it was not measured (a simulated
    evaluation of hhnas.study measures none)."""
    if cost == "params":
        return None if result.get("n_params") is None else float(result["n_params"])
    if cost == "seconds_per_epoch":
        epochs = result.get("epochs") or []
        return sum(e["seconds"] for e in epochs) / len(epochs) if epochs else None
    raise ValueError(f"search.reward.cost must be params or seconds_per_epoch, got {cost!r}")


def objective(result: TrainResult | Evaluation, search_cfg: dict[str, Any]) -> Score:
    """{'objective': value for the search, 'cost': measured cost or None}."""
    cfg = reward_config(search_cfg)
    cost = candidate_cost(result, cfg["cost"])
    acc = float(result["val_acc"])
    if cfg["objective"] == "accuracy" or result["status"] != "ok":
        return {"objective": acc if result["status"] == "ok" else FAILED_SCORE, "cost": cost}
    if cfg["objective"] != "accuracy-minus-cost":
        raise ValueError(
            "search.reward.objective must be accuracy or accuracy-minus-cost, "
            f"got {cfg['objective']!r}"
        )
    if cost is None:
        raise ValueError(f"search.reward.cost={cfg['cost']!r} was not measured for this candidate")
    return {"objective": acc - float(cfg["weight"]) * cost / float(cfg["scale"]), "cost": cost}
