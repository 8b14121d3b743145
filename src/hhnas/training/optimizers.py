"""criterion_num -> optimizer, as in the paper: 0 AdamW, 1 SGD with momentum, 2 RMSprop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

OPTIMIZERS = {0: "AdamW", 1: "SGD", 2: "RMSprop"}


def make_optimizer(
    criterion_num: int, params: Iterable[torch.nn.Parameter], lr: float, train_cfg: dict[str, Any]
) -> torch.optim.Optimizer:
    wd = float(train_cfg.get("weight_decay", 0.0))
    if criterion_num == 0:
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if criterion_num == 1:
        return torch.optim.SGD(
            params, lr=lr, momentum=float(train_cfg["momentum"]), weight_decay=wd
        )
    if criterion_num == 2:
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    raise ValueError(
        f"criterion_num must be 0 (AdamW), 1 (SGD) or 2 (RMSprop), got {criterion_num}"
    )
