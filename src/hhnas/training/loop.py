"""The epoch loop both training modes share, and the rule that a failure is a record.

Frozen mode feeds cached embeddings, fine-tuning feeds token ids through the encoder; both come
here with a model, an optimizer, a batch source and an evaluator, so the metrics every candidate
records (best validation epoch, its test accuracy, every epoch's figures) mean the same thing.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn

from hhnas.config import Training
from hhnas.records import TrainResult
from hhnas.training.optimizers import make_scheduler

Batch = tuple[tuple[torch.Tensor, ...], torch.Tensor]
# A test seam, passed in explicitly: (loss, epoch) -> the loss to back-propagate, so that tests
# and hhnas.jobs.faults can make a real candidate fail (a NaN loss, an out-of-memory error).
LossHook = Callable[[torch.Tensor, int], torch.Tensor]


def new_result() -> TrainResult:
    return {
        "status": "ok",
        "error": None,
        "error_class": None,
        "val_acc": 0.0,
        "test_acc": 0.0,
        "best_epoch": None,
        "n_params": None,
        "epochs": [],
    }


def autocast_for(
    device: torch.device, amp: str | None
) -> Callable[[], contextlib.AbstractContextManager]:
    """On CUDA: bf16 autocast, or float32 with TF32 matrix products (``tf32``); on CPU plain
    float32 (CPU autocast is slower here)."""
    if device.type == "cuda" and amp == "bf16":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cuda":
        # A process-wide switch; set either way so that one candidate never inherits another's.
        torch.backends.cuda.matmul.allow_tf32 = amp == "tf32"
        torch.backends.cudnn.allow_tf32 = amp == "tf32"
    return contextlib.nullcontext


def fit(
    model: nn.Module,
    opt: Any,
    train_batches: Callable[[int], Iterable[Batch]],
    batches_per_epoch: int,
    evaluate: Callable[[str], float],
    training: Training,
    result: TrainResult,
    *,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    progress: Callable[[str], None] | None = None,
    on_best: Callable[[int], None] | None = None,
    loss_hook: LossHook | None = None,
) -> None:
    """Train for ``training.epochs`` with its schedule and gradient clipping, evaluating after
    each epoch; fill ``result`` in place (so a failure in epoch 5 leaves epochs 1-4 on record).
    ``on_best(epoch)`` runs whenever an epoch becomes the best one (the final model keeps that
    epoch's weights)."""
    epochs, grad_clip = training.epochs, training.grad_clip
    scheduler = make_scheduler(opt, training, epochs * batches_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total: torch.Tensor | float = 0.0
        seen = 0
        for inputs, y in train_batches(epoch):
            with autocast():
                logits = model(*inputs)
            loss = loss_fn(logits.float(), y)
            if loss_hook is not None:
                loss = loss_hook(loss, epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            if scheduler is not None:
                scheduler.step()
            # Accumulated on the device: reading it back each step would sync every step.
            total = total + loss.detach() * y.shape[0]
            seen += int(y.shape[0])
        train_loss = float(total) / max(1, seen)
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss is {train_loss} at epoch {epoch}")
        train_seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad(), autocast():
            val = evaluate("val")
            # Test accuracy is only ever read at the best validation epoch, so it is computed
            # only where validation improves (null elsewhere): nothing records more of the test
            # split than is reported, and a candidate skips most of its test forward passes.
            improved = result["best_epoch"] is None or val > result["val_acc"]
            test = evaluate("test") if improved else None
        seconds = time.perf_counter() - start
        result["epochs"].append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_acc": val,
                "test_acc": test,
                "seconds": round(seconds, 3),
                "train_seconds": round(train_seconds, 3),
            }
        )
        if progress:
            progress(f"epoch {epoch}: loss {train_loss:.4f} val {val:.4f} ({seconds:.1f}s)")
        # The first epoch reaching the best validation accuracy is the candidate's score.
        if improved:
            result.update(val_acc=val, test_acc=test, best_epoch=epoch)
            if on_best is not None:
                on_best(epoch)


def record_failure(result: TrainResult, exc: BaseException) -> None:
    """A failed candidate scores 0 for the search; the error stays in its metrics."""
    result.update(
        status="failed",
        error=f"{type(exc).__name__}: {exc}",
        error_class=type(exc).__name__,
        val_acc=0.0,
        test_acc=0.0,
    )
    if torch.cuda.is_available():
        # After an out-of-memory error the cached blocks would starve the next candidate.
        torch.cuda.empty_cache()


def accuracy(batches: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Fraction of rows whose logits' argmax is the label; one host sync at the end."""
    correct: torch.Tensor | int = 0
    n = 0
    for logits, y in batches:
        correct = correct + (logits.argmax(1) == y).sum()
        n += int(y.shape[0])
    return float(correct) / max(1, n)
