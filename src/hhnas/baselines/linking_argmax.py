"""``linking-argmax``: predict the database whose schema-linking score is highest; nothing trained.

The score is one channel of the schema-linking features (``comparison.linking_channel``, default
``idf_coverage``; names in :data:`LINKING_CHANNELS`), read raw from ``linking.npy``. Ties go to the
lowest class index (``numpy.argmax`` returns the first maximum), so a question that matches no
schema at all (every score 0) is predicted as class 0.
"""

from __future__ import annotations

import numpy as np

from hhnas.baselines.data import DevData, TestSplit
from hhnas.baselines.evaluation import Selection, accuracy
from hhnas.config.sections import Comparison
from hhnas.features.schema_linking import LINKING_CHANNELS


def linking_channel(comparison: Comparison) -> str:
    name = comparison.linking_channel
    if name not in LINKING_CHANNELS:
        raise ValueError(
            f"comparison.linking_channel must be one of {list(LINKING_CHANNELS)}, got {name!r}"
        )
    return name


def argmax_lowest(scores: np.ndarray) -> np.ndarray:
    """Row-wise argmax; a tie goes to the lowest column."""
    return np.argmax(scores, axis=1)


def n_tied(scores: np.ndarray) -> int:
    """Rows whose maximum is shared by two or more classes."""
    return int(((scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())


def select_linking(dev: DevData, comparison: Comparison) -> Selection:
    name = linking_channel(comparison)
    linking = dev.feature("linking")
    if linking.ndim != 3 or linking.shape[1:] != (len(LINKING_CHANNELS), dev.n_classes):
        raise ValueError(
            f"schema-linking features have shape {linking.shape}, expected "
            f"[rows, {len(LINKING_CHANNELS)} channels, {dev.n_classes} classes]"
        )
    scores = linking[:, LINKING_CHANNELS.index(name), :]
    val_rows = dev.rows("val")
    val_acc = accuracy(argmax_lowest(scores[val_rows]), dev.y("val"))

    def scorer(test: TestSplit) -> float:
        return accuracy(argmax_lowest(scores[test.rows]), test.labels)

    return Selection(
        selected={"channel": name},
        val_acc=val_acc,
        scorer=scorer,
        details={"tie_break": "lowest class index", "val_tied_rows": n_tied(scores[val_rows])},
    )
