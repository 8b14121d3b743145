"""Plain baselines on the search's own train/val/test split: TF-IDF + logistic regression, the
argmax of one schema-linking score, and the paper's Model 1 with default parameters.

Each baseline chooses what it chooses on train/val only (``DevData`` has no test labels); the
test split is scored afterwards by one call of :func:`hhnas.baselines.evaluation.score_test`.
"""

from hhnas.baselines.run import BASELINES, run_baseline

__all__ = ["BASELINES", "run_baseline"]
