"""The inputs of a baseline, split so that model selection cannot read the test labels.

:func:`load_splits` returns the development view (every row's text and split, train and val
labels, paths of the cached features) and, separately, the held-out :class:`TestSplit`, the only
object that carries test labels. Baselines receive the development view; the test split goes
straight to :func:`hhnas.baselines.evaluation.score_test`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hhnas.data.prepare import read_dataset
from hhnas.io import read_json

HIDDEN = -1  # the label a test row carries in the development view
DEV_SPLITS = ("train", "val")
FEATURES = ("llm", "linking", "backbone")


@dataclass(frozen=True)
class DevData:
    """Everything model selection may see. ``labels`` is -1 on every test row."""

    texts: list[str]
    splits: np.ndarray  # "train" | "val" | "test", one per row
    labels: np.ndarray  # int64, HIDDEN on test rows
    n_classes: int
    features: dict[str, str]  # llm, linking, backbone: .npy paths, rows aligned with `texts`

    def rows(self, split: str) -> np.ndarray:
        """Row numbers of one split (test included: its inputs are not secret, its labels are)."""
        return np.flatnonzero(self.splits == split)

    def y(self, split: str) -> np.ndarray:
        if split not in DEV_SPLITS:
            raise ValueError(f"labels of split {split!r} are not available to model selection")
        return self.labels[self.rows(split)]

    def feature(self, name: str) -> np.ndarray:
        """One cached feature array, checked against the number of rows."""
        arr = np.load(self.features[name])
        if arr.shape[0] != len(self.texts):
            raise ValueError(
                f"{self.features[name]} has {arr.shape[0]} rows but the dataset has "
                f"{len(self.texts)}: the feature cache is stale; delete it and re-run"
            )
        return arr


@dataclass(frozen=True)
class TestSplit:
    """The held-out rows and their labels; only ``score_test`` reads it."""

    rows: np.ndarray
    labels: np.ndarray


def load_splits(inputs: dict[str, str]) -> tuple[DevData, TestSplit]:
    """``inputs``: rows (dataset.jsonl), classes (classes.json), llm, linking, backbone (.npy)."""
    records = read_dataset(inputs["rows"])
    n_classes = len(read_json(inputs["classes"])["classes"])
    splits = np.asarray([r["split"] for r in records])
    labels = np.asarray([r["label"] for r in records], dtype=np.int64)
    unknown = sorted(set(splits.tolist()) - {"train", "val", "test"})
    if unknown:
        raise ValueError(f"{inputs['rows']}: unknown split names {unknown}")
    for split in ("train", "val", "test"):
        if not (splits == split).any():
            raise ValueError(f"{inputs['rows']}: the {split} split is empty")
    test = splits == "test"
    dev = DevData(
        texts=[r["text"] for r in records],
        splits=splits,
        labels=np.where(test, HIDDEN, labels),
        n_classes=n_classes,
        features={k: inputs[k] for k in FEATURES},
    )
    return dev, TestSplit(rows=np.flatnonzero(test), labels=labels[test])
