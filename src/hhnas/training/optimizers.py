"""criterion_num -> optimizer, as in the paper: 0 AdamW, 1 SGD with momentum, 2 RMSprop; and the
learning-rate schedule (``training.lr_schedule``, ``training.warmup_ratio``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from hhnas.config import Training
from hhnas.training.light_optim import LightAdamW, LightOptimizer, LightRMSprop, LightSGD

OPTIMIZERS = {0: "AdamW", 1: "SGD", 2: "RMSprop"}
SCHEDULES = ("constant", "linear", "cosine")


def make_optimizer(
    criterion_num: int,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    training: Training,
    light: bool = False,
    fused: bool = False,
) -> torch.optim.Optimizer | LightOptimizer:
    """``light``: the torch.optim-free versions (same updates; see light_optim for why).
    ``fused`` (parameters on CUDA): AdamW and SGD update every tensor in one kernel, which
    matters when a small batch makes the step loop launch-bound."""
    wd, momentum = training.weight_decay, training.momentum
    if criterion_num not in OPTIMIZERS:
        raise ValueError(
            f"criterion_num must be 0 (AdamW), 1 (SGD) or 2 (RMSprop), got {criterion_num}"
        )
    if light:
        if criterion_num == 0:
            return LightAdamW(params, lr, wd)
        if criterion_num == 1:
            return LightSGD(params, lr, wd, momentum)
        return LightRMSprop(params, lr, wd)
    # foreach: one batched kernel per step instead of one per tensor (not the CPU default).
    batched = {"fused": True} if fused else {"foreach": True}
    if criterion_num == 0:
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, **batched)
    if criterion_num == 1:
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd, **batched)
    # RMSprop has no fused kernel.
    return torch.optim.RMSprop(params, lr=lr, weight_decay=wd, foreach=True)


def lr_factor(step: int, total: int, schedule: str, warmup_ratio: float) -> float:
    """Multiplier of the base learning rate before optimizer step ``step`` (0-based) of
    ``total``: linear warm-up over the first ``warmup_ratio`` of the steps, then constant,
    linear decay to 0, or cosine decay to 0."""
    if schedule not in SCHEDULES:
        raise ValueError(f"training.lr_schedule must be one of {SCHEDULES}, got {schedule!r}")
    warmup = int(round(warmup_ratio * total))
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class Schedule:
    """Sets ``lr_factor(step) * base lr`` on the optimizer before each step; works with
    torch.optim and the light optimizers alike."""

    def __init__(self, opt: Any, training: Training, total_steps: int) -> None:
        self.opt, self.total, self.step_no = opt, total_steps, 0
        self.schedule, self.warmup = training.lr_schedule, training.warmup_ratio
        self.base = [g["lr"] for g in opt.param_groups]
        self._apply()

    def _apply(self) -> None:
        f = lr_factor(self.step_no, self.total, self.schedule, self.warmup)
        for group, base in zip(self.opt.param_groups, self.base, strict=True):
            group["lr"] = base * f

    def step(self) -> None:
        self.step_no += 1
        self._apply()


def make_scheduler(opt: Any, training: Training, total_steps: int) -> Schedule | None:
    """None for a constant rate without warm-up, so the default path does no extra work."""
    if training.lr_schedule == "constant" and not training.warmup_ratio:
        return None
    return Schedule(opt, training, total_steps)
