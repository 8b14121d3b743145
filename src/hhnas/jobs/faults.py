"""Fault injection for tests: make chosen candidates of a real workflow run fail on purpose.

``HHNAS_FAULT`` holds comma-separated ``KIND@DATASET/VARIANT/EXPERIMENT/ITERATION`` entries, with
KIND ``nan`` (the training loss becomes NaN from the first step) or ``oom`` (the first step
raises ``torch.OutOfMemoryError``, what CUDA raises when the GPU is full). Unset, nothing
changes. It goes through the same training loop hook the unit tests use, so a run proves that
a failed candidate is recorded and the search goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable

KINDS = ("nan", "oom")


def parse(spec: str) -> dict[tuple[str, str, int, int], str]:
    faults: dict[tuple[str, str, int, int], str] = {}
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        try:
            kind, where = entry.split("@")
            dataset, variant, exp, it = where.split("/")
            key = (dataset, variant, int(exp), int(it))
        except ValueError:
            raise ValueError(
                f"HHNAS_FAULT entry {entry!r}: expected KIND@DATASET/VARIANT/EXPERIMENT/ITERATION"
            ) from None
        if kind not in KINDS:
            raise ValueError(f"HHNAS_FAULT entry {entry!r}: KIND must be one of {KINDS}")
        faults[key] = kind
    return faults


def loss_hook(dataset: str, variant: str, experiment: int, iteration: int) -> Callable | None:
    """The hook for this candidate, or None when ``HHNAS_FAULT`` does not name it."""
    kind = parse(os.environ.get("HHNAS_FAULT", "")).get((dataset, variant, experiment, iteration))
    if kind is None:
        return None
    import torch

    def hook(loss: torch.Tensor, epoch: int) -> torch.Tensor:
        if kind == "oom":
            raise torch.OutOfMemoryError("CUDA out of memory (injected by HHNAS_FAULT)")
        return loss * float("nan")

    return hook
