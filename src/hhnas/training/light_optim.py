"""AdamW, SGD with momentum and RMSprop for the frozen mode's small heads, without torch.optim.

Why not torch.optim: the first ``step()`` of any torch.optim optimizer imports ``torch._dynamo``,
about one second of CPU. A quick-profile search iteration is its own process and trains for one
to four seconds, so that import alone was a fifth of the run's 400 jobs. These classes apply
the same update rules as torch.optim's defaults (non-AMSGrad AdamW, SGD without dampening or
Nesterov, RMSprop neither centred nor with momentum) with the same ``_foreach`` kernels;
``tests/test_training.py`` compares them with torch.optim step by step. The fine-tuning mode
uses torch.optim itself, where a second per candidate does not matter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class LightOptimizer:
    """The slice of the torch.optim interface the training loop uses: ``param_groups`` (one
    group, so schedulers can set ``lr``), ``zero_grad`` and ``step``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float):
        self.params = [p for p in params if p.requires_grad]
        self.param_groups = [{"lr": float(lr), "initial_lr": float(lr)}]
        self.weight_decay = float(weight_decay)
        self.steps = 0

    @property
    def lr(self) -> float:
        return float(self.param_groups[0]["lr"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        # State is kept per parameter in order; the heads have no parameter without a gradient.
        if any(g is None for g in grads):
            raise RuntimeError(f"{type(self).__name__} expects a gradient for every parameter")
        self.steps += 1
        self._update(self.params, grads)  # type: ignore[arg-type]

    def _update(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        raise NotImplementedError


class LightAdamW(LightOptimizer):
    def __init__(self, params, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):  # type: ignore[no-untyped-def]
        super().__init__(params, lr, weight_decay)
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        lr, t = self.lr, self.steps
        if self.weight_decay:
            torch._foreach_mul_(params, 1.0 - lr * self.weight_decay)
        torch._foreach_lerp_(self.m, grads, 1.0 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, 1.0 - self.b2)
        step_size = lr / (1.0 - self.b1**t)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, math.sqrt(1.0 - self.b2**t))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, self.m, denom, -step_size)


class LightSGD(LightOptimizer):
    def __init__(self, params, lr, weight_decay, momentum):  # type: ignore[no-untyped-def]
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.buf: list[torch.Tensor] | None = None

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        if self.momentum:
            if self.buf is None:
                self.buf = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.buf, self.momentum)
                torch._foreach_add_(self.buf, grads)
            grads = self.buf
        torch._foreach_add_(params, grads, alpha=-self.lr)


class LightRMSprop(LightOptimizer):
    def __init__(self, params, lr, weight_decay, alpha=0.99, eps=1e-8):  # type: ignore[no-untyped-def]
        super().__init__(params, lr, weight_decay)
        self.alpha, self.eps = alpha, eps
        self.sq = [torch.zeros_like(p) for p in self.params]

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        torch._foreach_mul_(self.sq, self.alpha)
        torch._foreach_addcmul_(self.sq, grads, grads, 1.0 - self.alpha)
        avg = torch._foreach_sqrt(self.sq)
        torch._foreach_add_(avg, self.eps)
        torch._foreach_addcdiv_(params, grads, avg, -self.lr)
