"""Cached features -> per-split tensors, standardised with training-split statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

SPLITS = ("train", "val", "test")


@dataclass
class FeatureSet:
    """All inputs of one dataset; each tensor's first axis is the row."""

    backbone: dict[str, torch.Tensor]  # empty in fine-tuning mode: the encoder computes it
    llm: dict[str, torch.Tensor]
    linking: dict[str, torch.Tensor]
    y: dict[str, torch.Tensor]
    n_classes: int
    rows: dict[str, np.ndarray]  # each split's row numbers in the dataset (token cache index)
    # Per input: the training rows' (mean, std) that standardised it; a saved model applies
    # them to new text (hhnas.final).
    stats: dict[str, Standardisation] = field(default_factory=dict)

    @property
    def backbone_dim(self) -> int:
        if not self.backbone:
            raise ValueError("no cached backbone features: fine-tuning mode computes them")
        return int(self.backbone["train"].shape[1])

    @property
    def llm_shape(self) -> tuple[int, int]:
        return tuple(self.llm["train"].shape[1:])  # type: ignore[return-value]

    @property
    def linking_shape(self) -> tuple[int, int]:
        return tuple(self.linking["train"].shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class Standardisation:
    """``(x - mean) / std`` with the training rows' statistics (shapes broadcast over rows)."""

    mean: np.ndarray
    std: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)


def fit_standardisation(x: np.ndarray, train_mask: np.ndarray) -> Standardisation:
    """Statistics of the training rows only, so validation and test stay unseen.

    2-D ``[N, D]``: per column. 3-D ``[N, channels, databases]``: per channel, pooled over the
    databases, so a database's score stays comparable with the others' (per-position scaling
    would stretch a rarely matched database's few hits into huge values and make the CNN's
    shared kernel see a different unit at every position). A constant column keeps std 1."""
    axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    train = x[train_mask]
    mean = train.mean(axis=axes, keepdims=True)
    std = train.std(axis=axes, keepdims=True)
    return Standardisation(mean, np.where(std > 1e-8, std, 1.0))


def _standardise(x: np.ndarray, train_mask: np.ndarray) -> np.ndarray:
    return fit_standardisation(x, train_mask).apply(x)


def build_feature_set(
    splits: list[str],
    labels: list[int],
    n_classes: int,
    backbone: np.ndarray | None,
    llm: np.ndarray,
    linking: np.ndarray,
) -> FeatureSet:
    split_arr = np.asarray(splits)
    n = len(splits)
    arrays = {"backbone": backbone, "llm": llm, "linking": linking}
    for name, arr in arrays.items():
        if arr is not None and arr.shape[0] != n:
            raise ValueError(
                f"{name} features have {arr.shape[0]} rows but the dataset has {n}: "
                "the feature cache is stale; delete results/<dataset>/features/ and re-run"
            )
    train = split_arr == "train"
    rows = {s: np.flatnonzero(split_arr == s) for s in SPLITS}
    per_split: dict[str, dict[str, torch.Tensor]] = {}
    stats: dict[str, Standardisation] = {}
    for key, arr in arrays.items():
        if arr is None:
            per_split[key] = {}
            continue
        stats[key] = fit_standardisation(arr, train)
        std = stats[key].apply(arr)
        per_split[key] = {s: torch.from_numpy(std[rows[s]]) for s in SPLITS}
    y = np.asarray(labels, dtype=np.int64)
    ys = {s: torch.from_numpy(y[rows[s]]) for s in SPLITS}
    return FeatureSet(
        per_split["backbone"], per_split["llm"], per_split["linking"], ys, n_classes, rows, stats
    )
