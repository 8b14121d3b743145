"""``rule-argmax``: predict the database whose schema-linking score is highest; nothing trained.

The score is one channel of the rule features (``comparison.rule_channel``, default
``idf_coverage``; names in :data:`RULE_CHANNELS`), read raw from ``rule.npy``. Ties go to the
lowest class index (``numpy.argmax`` returns the first maximum), so a question that matches no
schema at all (every score 0) is predicted as class 0.
"""

from __future__ import annotations

import numpy as np

from hhnas.baselines.data import DevData, TestSplit
from hhnas.baselines.evaluation import Selection, accuracy
from hhnas.config.sections import Comparison
from hhnas.features.schema_linking import RULE_CHANNELS


def rule_channel(comparison: Comparison) -> str:
    name = comparison.rule_channel
    if name not in RULE_CHANNELS:
        raise ValueError(
            f"comparison.rule_channel must be one of {list(RULE_CHANNELS)}, got {name!r}"
        )
    return name


def argmax_lowest(scores: np.ndarray) -> np.ndarray:
    """Row-wise argmax; a tie goes to the lowest column."""
    return np.argmax(scores, axis=1)


def n_tied(scores: np.ndarray) -> int:
    """Rows whose maximum is shared by two or more classes."""
    return int(((scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())


def select_rule(dev: DevData, comparison: Comparison) -> Selection:
    name = rule_channel(comparison)
    rule = dev.feature("rule")
    if rule.ndim != 3 or rule.shape[1:] != (len(RULE_CHANNELS), dev.n_classes):
        raise ValueError(
            f"rule features have shape {rule.shape}, expected "
            f"[rows, {len(RULE_CHANNELS)} channels, {dev.n_classes} classes]"
        )
    scores = rule[:, RULE_CHANNELS.index(name), :]
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
