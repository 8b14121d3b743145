"""Which search-space features mattered: fANOVA importances and the Q-table's final say.

Two complementary views for a report. :func:`param_importances` asks the data: over every
evaluated candidate, how much of the accuracy's variance does each feature explain (fANOVA,
Hutter et al. 2014, as implemented by Optuna)? :func:`final_mutation_probabilities` asks
HHNAS-AM: which features had its Q-table learnt to mutate most by the end? Agreement between
the two suggests the Q-table learnt something real; disagreement is worth a sentence.

Optuna (and scikit-learn, which its fANOVA needs) are imported inside the function so that
importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from hhnas.search.optuna_tpe import optuna_distributions, optuna_trial_params
from hhnas.search.qtable import mutation_probabilities
from hhnas.search.space import SearchSpace


@contextlib.contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna at WARNING (no INFO line per added trial), the caller's verbosity restored."""
    import optuna

    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old)


def param_importances(
    candidates: list[dict[str, Any]], space: SearchSpace, seed: int = 0
) -> dict[str, float]:
    """fANOVA importance of every mutable feature over `candidates`, normalised to sum to 1.

    Each candidate is a dict with ``macro`` (3 bits), ``params`` (the micro parameters) and
    ``accuracy``; all of them (every experiment, every iteration of a variant) go into one
    in-memory Optuna study as completed trials, with the distributions the optuna-tpe baseline
    uses, and :class:`optuna.importance.FanovaImportanceEvaluator` (seeded: the random forest
    is reproducible) scores them. Continuous parameters are scored on their raw scale, as
    Optuna's fANOVA does.

    Keys are ``space.features`` in order, so tables line up across variants. Features with
    ``mutable: false`` are left out (one value, nothing to attribute). A feature that took
    a single value over all candidates gets 0.0 and is still listed: the candidates carry no
    evidence about it (e.g. a strategy that never flipped p3). With fewer than 2 candidates,
    all accuracies equal or no feature varying, fANOVA has nothing to fit and every importance
    is 0.0. These importances describe where the search sampled, not the whole space: a
    strategy that concentrated on good regions can make a feature look less important than it
    is.
    """
    features = space.features
    names = [p.name for p in features]
    zeros = dict.fromkeys(names, 0.0)
    rows = [optuna_trial_params(space, c["macro"], c["params"]) for c in candidates]
    values = [float(c["accuracy"]) for c in candidates]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"param_importances needs finite accuracies, got {values}")
    varying = [n for n in names if len({_key(r[n]) for r in rows}) > 1]
    if len(candidates) < 2 or len(set(values)) < 2 or not varying:
        return zeros

    import optuna
    from optuna.trial import create_trial

    distributions = optuna_distributions(space)
    with _optuna_quiet():
        study = optuna.create_study(direction="maximize")
        study.add_trials(
            [
                create_trial(params=row, distributions=distributions, value=value)
                for row, value in zip(rows, values, strict=True)
            ]
        )
        scores = optuna.importance.get_param_importances(
            study,
            evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed),
            params=varying,
        )
    return {n: float(scores.get(n, 0.0)) for n in names}


def _key(value: Any) -> Any:
    """A hashable form of a parameter value for counting distinct ones (1 and 1.0 are one)."""
    return float(value) if isinstance(value, int | float) else value


def final_mutation_probabilities(state: dict[str, Any], max_prob: float) -> dict[str, float]:
    """P(s) = Q(s) / max Q * max_prob from an HHNAS state's final Q-table.

    What HHNAS-AM would mutate next at the end of the run, per feature (the Q-table's keys,
    in its order). States of strategies without a Q-table (random, optuna-tpe, ...) give {}.
    """
    q = state.get("q_table")
    if not q:
        return {}
    return mutation_probabilities(q, max_prob)
