"""Train and evaluate one candidate; a failing candidate becomes a record, not a crash."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hhnas.models.hybrid import HybridClassifier, count_parameters
from hhnas.training.data import FeatureSet
from hhnas.training.optimizers import make_optimizer

# Tests set this to inject faults (e.g. a NaN loss) without touching the training code path.
LOSS_HOOK: Callable[[torch.Tensor, int], torch.Tensor] | None = None


def _accuracy(model: nn.Module, fs: FeatureSet, split: str, batch: int) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        n = fs.y[split].shape[0]
        for i in range(0, n, batch):
            sl = slice(i, i + batch)
            logits = model(fs.backbone[split][sl], fs.llm[split][sl], fs.rule[split][sl])
            correct += int((logits.argmax(1) == fs.y[split][sl]).sum())
    return correct / max(1, n)


def train_candidate(
    macro: list[int],
    params: dict[str, Any],
    fs: FeatureSet,
    train_cfg: dict[str, Any],
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the heads of one candidate; return its metrics (best-validation epoch and its test
    accuracy, every epoch's figures). Any exception ends the candidate with status 'failed'."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(int(train_cfg.get("threads", 1)))
    epochs_log: list[dict[str, float]] = []
    result: dict[str, Any] = {
        "status": "ok",
        "error": None,
        "val_acc": 0.0,
        "test_acc": 0.0,
        "best_epoch": None,
        "n_params": None,
    }
    try:
        model = HybridClassifier(
            macro,
            params,
            fs.n_classes,
            fs.backbone_dim,
            fs.llm_shape,
            fs.rule_shape,
            int(train_cfg["cnn_filters"]),
        )
        result["n_params"] = count_parameters(model)
        opt = make_optimizer(
            int(params["criterion_num"]),
            model.parameters(),
            float(params["learning_rate"]),
            train_cfg,
        )
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(seed)
        n, bs = fs.y["train"].shape[0], int(train_cfg["batch_size"])
        for epoch in range(1, int(train_cfg["epochs"]) + 1):
            model.train()
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for i in range(0, n, bs):
                idx = order[i : i + bs]
                logits = model(
                    fs.backbone["train"][idx], fs.llm["train"][idx], fs.rule["train"][idx]
                )
                loss = loss_fn(logits, fs.y["train"][idx])
                if LOSS_HOOK is not None:
                    loss = LOSS_HOOK(loss, epoch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.shape[0]
            train_loss = total / n
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"training loss is {train_loss} at epoch {epoch}")
            val = _accuracy(model, fs, "val", 1024)
            test = _accuracy(model, fs, "test", 1024)
            epochs_log.append(
                {"epoch": epoch, "train_loss": train_loss, "val_acc": val, "test_acc": test}
            )
            if progress:
                progress(f"epoch {epoch}: loss {train_loss:.4f} val {val:.4f}")
            # The first epoch reaching the best validation accuracy is the candidate's score.
            if result["best_epoch"] is None or val > result["val_acc"]:
                result.update(val_acc=val, test_acc=test, best_epoch=epoch)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded for the search
        result.update(
            status="failed", error=f"{type(exc).__name__}: {exc}", val_acc=0.0, test_acc=0.0
        )
    result["epochs"] = epochs_log
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result
