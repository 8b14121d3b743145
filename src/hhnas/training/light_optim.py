"""AdamW, SGD with momentum and RMSprop for the frozen mode's small heads, without torch.optim.

Why not torch.optim: the first ``step()`` of any torch.optim optimizer imports ``torch._dynamo``,
about one second of CPU. A quick-profile search iteration is its own process and trains for one
to four seconds, so that import alone was a fifth of the run's 400 jobs. These classes apply
the same update rules as torch.optim's defaults (non-AMSGrad AdamW, SGD without dampening or
Nesterov, RMSprop neither centred nor with momentum); ``tests/test_training.py`` and
``tests/test_training_speed_equivalence.py`` compare them with torch.optim step by step. The
fine-tuning mode uses torch.optim itself, where a second per candidate does not matter.

Each step is one call of torch's fused kernels (``torch._fused_adamw_``, ``torch._fused_sgd_``,
plain aten ops that import nothing), which read and write every tensor once instead of once per
``_foreach`` pass. RMSprop has no fused kernel of its own and runs on the Adam one (see
``LightRMSprop``). One CPU thread, CPU time per step with the parameters of Model 4 and default
parameters (0.35 M): AdamW 0.62 -> 0.18 ms, SGD 0.23 -> 0.07 ms, RMSprop 0.51 -> 0.17 ms; with
layers 1024/512 (2.7 M): AdamW 6.3 -> 1.6 ms, SGD 3.0 -> 1.1 ms, RMSprop 5.5 -> 1.6 ms, which
had been 15-20 % of that candidate's training time.
"""

from __future__ import annotations

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
    def __init__(  # type: ignore[no-untyped-def]
        self, params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8
    ):
        super().__init__(params, lr, weight_decay)
        self.b1, self.b2, self.eps = float(betas[0]), float(betas[1]), float(eps)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        # The kernel reads the step count (for the bias corrections) from a tensor per
        # parameter; all parameters share one step, so the list repeats one tensor.
        device = self.params[0].device if self.params else None
        self._step = torch.zeros((), dtype=torch.float32, device=device)
        self._steps = [self._step] * len(self.params)

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        self._step.fill_(self.steps)
        torch._fused_adamw_(
            params,
            grads,
            self.m,
            self.v,
            [],
            self._steps,
            lr=self.lr,
            beta1=self.b1,
            beta2=self.b2,
            weight_decay=self.weight_decay,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )


class LightSGD(LightOptimizer):
    def __init__(self, params, lr: float, weight_decay: float, momentum: float):  # type: ignore[no-untyped-def]
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.buf = [torch.empty_like(p) for p in self.params] if self.momentum else []

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        # is_first_step: the kernel sets each momentum buffer to the gradient, as torch.optim.
        torch._fused_sgd_(
            params,
            grads,
            self.buf,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            lr=self.lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=self.steps == 1,
        )


class LightRMSprop(LightOptimizer):
    """RMSprop as Adam with beta1 = 0, beta2 = alpha and no bias correction.

    With beta1 = 0 Adam's first moment is the (weight-decayed) gradient itself; its second
    moment is RMSprop's square average; Adam (not AdamW) adds weight decay to the gradient as
    RMSprop does. The bias corrections 1 - beta^t are switched off by a step count so large that
    beta^t underflows to 0 in double precision, leaving exactly
    ``p -= lr * g / (sqrt(square_avg) + eps)``. One fused pass instead of six ``_foreach`` ones.
    """

    # alpha^t < 2^-53 for any alpha <= 0.99999 (and 0^t = 0): the corrections are exactly 1.
    _NO_BIAS_CORRECTION_STEP = float(2**40)

    def __init__(  # type: ignore[no-untyped-def]
        self, params, lr: float, weight_decay: float, alpha: float = 0.99, eps: float = 1e-8
    ):
        super().__init__(params, lr, weight_decay)
        if not 0.0 <= alpha <= 0.99999:
            raise ValueError(f"LightRMSprop needs 0 <= alpha <= 0.99999, got {alpha}")
        self.alpha, self.eps = float(alpha), float(eps)
        self.grad_copy = [torch.zeros_like(p) for p in self.params]  # Adam's first moment
        self.sq = [torch.zeros_like(p) for p in self.params]
        device = self.params[0].device if self.params else None
        step = torch.full((), self._NO_BIAS_CORRECTION_STEP, dtype=torch.float32, device=device)
        self._steps = [step] * len(self.params)

    def _update(self, params, grads):  # type: ignore[no-untyped-def]
        torch._fused_adam_(
            params,
            grads,
            self.grad_copy,
            self.sq,
            [],
            self._steps,
            lr=self.lr,
            beta1=0.0,
            beta2=self.alpha,
            weight_decay=self.weight_decay,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )
