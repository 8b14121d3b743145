"""Cached features -> per-split tensors, standardised with training-split statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SPLITS = ("train", "val", "test")


@dataclass
class FeatureSet:
    """All inputs of one dataset; each tensor's first axis is the row."""

    backbone: dict[str, torch.Tensor]
    llm: dict[str, torch.Tensor]
    rule: dict[str, torch.Tensor]
    y: dict[str, torch.Tensor]
    n_classes: int

    @property
    def backbone_dim(self) -> int:
        return int(self.backbone["train"].shape[1])

    @property
    def llm_shape(self) -> tuple[int, int]:
        return tuple(self.llm["train"].shape[1:])  # type: ignore[return-value]

    @property
    def rule_shape(self) -> tuple[int, int]:
        return tuple(self.rule["train"].shape[1:])  # type: ignore[return-value]


def _standardise(x: np.ndarray, train_mask: np.ndarray) -> np.ndarray:
    # Statistics from the training rows only, so validation and test stay unseen.
    mean = x[train_mask].mean(axis=0, keepdims=True)
    std = x[train_mask].std(axis=0, keepdims=True)
    return ((x - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def build_feature_set(
    splits: list[str],
    labels: list[int],
    n_classes: int,
    backbone: np.ndarray,
    llm: np.ndarray,
    rule: np.ndarray,
) -> FeatureSet:
    split_arr = np.asarray(splits)
    n = len(splits)
    for name, arr in (("backbone", backbone), ("llm", llm), ("rule", rule)):
        if arr.shape[0] != n:
            raise ValueError(
                f"{name} features have {arr.shape[0]} rows but the dataset has {n}: "
                "the feature cache is stale; delete results/<dataset>/features/ and re-run"
            )
    train = split_arr == "train"
    blocks = {
        "backbone": _standardise(backbone, train),
        "llm": _standardise(llm, train),
        "rule": _standardise(rule, train),
    }
    y = np.asarray(labels, dtype=np.int64)
    per_split = {
        key: {s: torch.from_numpy(np.ascontiguousarray(arr[split_arr == s])) for s in SPLITS}
        for key, arr in blocks.items()
    }
    ys = {s: torch.from_numpy(y[split_arr == s]) for s in SPLITS}
    return FeatureSet(per_split["backbone"], per_split["llm"], per_split["rule"], ys, n_classes)
