"""A surrogate benchmark of the search space (Eggensperger et al., AAAI 2015; YAHPO Gym; HPOBench).

A real search evaluates one candidate by training it: the study can afford 4 experiments per
strategy, too few to tell strategies apart from the noise between experiments. A surrogate
replaces the training by a regression model of validation accuracy, test accuracy and failure,
fitted on every candidate the real study evaluated, so that each strategy can be run for hundreds
of seeds in seconds. Its answers are only as good as its fit, so `Surrogate.fit` measures the fit
on configurations it did not see and keeps the numbers (`Surrogate.fidelity`) for the report.

Pure numpy / scipy / scikit-learn: no torch, so the simulated searches run anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from scipy.special import ndtri
from scipy.stats import spearmanr
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hhnas.io import read_json
from hhnas.records import Evaluation, Metrics, Params
from hhnas.search.space import BINARY, CONTINUOUS, Parameter, SearchSpace

# Discrete parameters whose choices are codes, not quantities (0 AdamW, 1 SGD, 2 RMSprop): a
# numeric column would tell a tree that SGD lies "between" AdamW and RMSprop, so they are one-hot.
CATEGORICAL = ("criterion_num",)

# Fewest successful configurations the training part may have: below it K-fold CV of a
# 10-neighbour regressor has folds smaller than its neighbourhood.
MIN_TRAIN = 25

# Grid points per continuous feature in `Surrogate.importances` (bin midpoints of the unit scale).
IMPORTANCE_GRID = 20

REGRESSORS: dict[str, Callable[[int], Any]] = {
    "random-forest": lambda seed: RandomForestRegressor(
        n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1
    ),
    "extra-trees": lambda seed: ExtraTreesRegressor(
        n_estimators=300, min_samples_leaf=2, random_state=seed, n_jobs=1
    ),
    "gradient-boosting": lambda seed: HistGradientBoostingRegressor(random_state=seed),
    "knn": lambda seed: make_pipeline(
        StandardScaler(), KNeighborsRegressor(n_neighbors=10, weights="distance", n_jobs=1)
    ),
}
"""Candidate regressors, name -> factory(seed); `Surrogate.fit` picks one by CV R². All are
deterministic for a fixed seed (single-threaded forests; the others have no randomness left)."""


# ---------------------------------------------------------------------------------------------
# Candidates


class Configuration(TypedDict):
    """One distinct configuration of the metrics files and what its evaluations gave."""

    macro: list[int]
    params: Params
    model: int
    n: int
    failed: float
    val_acc: float | None
    test_acc: float | None
    n_params: float | None


@dataclass
class _Visits:
    """A configuration's evaluations as `load_candidates` collects them."""

    macro: list[int]
    params: Params
    model: int
    n: int = 0
    n_failed: int = 0
    val: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    n_params: list[float] = field(default_factory=list)


def _config_key(macro: Sequence[int], params: Mapping[str, float]) -> tuple:
    return (tuple(int(b) for b in macro), tuple(sorted(params.items())))


def load_candidates(paths: Sequence[str]) -> list[Configuration]:
    """One record per distinct configuration among the metrics files, in first-seen order.

    The study pools every strategy's candidates, and strategies revisit configurations (the
    initial one above all): a configuration counted once per visit would weigh the regression
    towards where the searches went, so repeats are averaged into one data point. `failed` is
    the fraction of its evaluations that failed; the accuracies and `n_params` are means over its
    successful evaluations (None when it never succeeded).
    """
    groups: dict[tuple, _Visits] = {}
    for path in paths:
        m: Metrics = read_json(path)
        key = _config_key(m["macro"], m["params"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Visits(
                macro=[int(b) for b in m["macro"]],
                params=dict(m["params"]),
                model=int(m["model"]),
            )
        g.n += 1
        if m["status"] == "ok":
            g.val.append(float(m["val_acc"]))
            g.test.append(float(m["test_acc"]))
            if m.get("n_params") is not None:
                g.n_params.append(float(m["n_params"]))
        else:
            g.n_failed += 1

    def mean(xs: list[float]) -> float | None:
        return float(np.mean(xs)) if xs else None

    return [
        {
            "macro": g.macro,
            "params": g.params,
            "model": g.model,
            "n": g.n,
            "failed": g.n_failed / g.n,
            "val_acc": mean(g.val),
            "test_acc": mean(g.test),
            "n_params": mean(g.n_params),
        }
        for g in groups.values()
    ]


# ---------------------------------------------------------------------------------------------
# Encoding


def _is_categorical(p: Parameter) -> bool:
    return p.type not in (BINARY, CONTINUOUS) and p.name in CATEGORICAL


def _columns(p: Parameter) -> list[str]:
    if p.type == CONTINUOUS and p.log:
        return [f"log10({p.name})"]
    if _is_categorical(p):
        return [f"{p.name}={c}" for c in p.choices]
    return [p.name]


def _encode_value(p: Parameter, value: float) -> list[float]:
    """The columns of one feature's value. Log parameters are encoded as log10 so that a tree's
    split points and the neighbours' distances follow the scale the search samples in."""
    if p.type == CONTINUOUS and p.log:
        return [math.log10(float(value))]
    if _is_categorical(p):
        hits = [1.0 if value == c else 0.0 for c in p.choices]
        if not any(hits):
            raise ValueError(f"{p.name}={value!r} is not one of choices {list(p.choices)}")
        return hits
    return [float(value)]


def feature_names(space: SearchSpace) -> list[str]:
    """Names of `encode`'s columns: mutable macro bits, then mutable micro parameters (log10(...)
    for log parameters, name=choice for one-hot categorical ones)."""
    return [c for p in space.features for c in _columns(p)]


def encode(space: SearchSpace, macro: Sequence[int], params: Params) -> np.ndarray:
    """One configuration as a float vector (columns: `feature_names`). Immutable bits and
    parameters are left out: they are the same in every candidate, so they carry no signal."""
    return np.array(
        [v for p in space.features for v in _encode_value(p, space.value_of(p, macro, params))],
        dtype=float,
    )


def encode_many(
    space: SearchSpace, macros: Sequence[Sequence[int]], params_list: Sequence[Params]
) -> np.ndarray:
    """`encode` of each configuration, stacked into a 2-D array (n x len(feature_names))."""
    if len(macros) != len(params_list):
        raise ValueError(f"{len(macros)} macros but {len(params_list)} parameter sets")
    if not macros:
        return np.zeros((0, len(feature_names(space))))
    return np.stack([encode(space, list(m), p) for m, p in zip(macros, params_list, strict=True)])


# ---------------------------------------------------------------------------------------------
# Fidelity


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    # A constant prediction ranks nothing: 0 rather than scipy's NaN, so that means stay finite.
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


class Scores(TypedDict):
    r2: float
    spearman: float
    mae: float


class ModelError(TypedDict):
    mae: float
    n: int


class HoldoutScores(Scores):
    """The scores on the held-out configurations, and per template (model number) its MAE."""

    per_model: dict[str, ModelError]


class Fidelity(TypedDict):
    """How the surrogate was chosen and how well it fits (`Surrogate.fit`), for the report."""

    choice: str
    reason: str
    target: str
    folds: int
    seed: int
    cv: dict[str, dict[str, float]]
    holdout_fraction: float
    holdout: dict[str, HoldoutScores] | None
    n_candidates: int
    n_ok: int
    n_failed: int
    n_train: int
    n_holdout: int
    failure_model: str
    p_fail: float
    noise_sd: dict[str, float]
    features: list[str]


def _scores(y: np.ndarray, pred: np.ndarray) -> Scores:
    return {
        "r2": float(r2_score(y, pred)),
        "spearman": _spearman(y, pred),
        "mae": float(mean_absolute_error(y, pred)),
    }


def cross_validate(
    X: np.ndarray,
    y: np.ndarray,
    groups: Sequence[Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Mean K-fold R², Spearman and MAE of every regressor in `REGRESSORS`.

    Shuffled KFold seeded with `seed`, or, with `groups`, shuffled GroupKFold so that no group
    (an experiment, a template) is on both sides of a split. Every regressor sees the same
    folds, so their scores compare like for like.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if groups is None:
        splits = list(KFold(folds, shuffle=True, random_state=seed).split(X))
    else:
        splits = list(GroupKFold(folds, shuffle=True, random_state=seed).split(X, y, groups))
    out: dict[str, dict[str, float]] = {}
    for name, factory in REGRESSORS.items():
        per_fold = []
        for train, test in splits:
            model = factory(seed).fit(X[train], y[train])
            per_fold.append(_scores(y[test], model.predict(X[test])))
        out[name] = {k: float(np.mean([s[k] for s in per_fold])) for k in ("r2", "spearman", "mae")}
    return out


def _holdout_scores(y: np.ndarray, pred: np.ndarray, models: np.ndarray) -> HoldoutScores:
    per_model: dict[str, ModelError] = {
        str(int(m)): {
            "mae": float(np.mean(np.abs(y[models == m] - pred[models == m]))),
            "n": int(np.sum(models == m)),
        }
        for m in sorted(set(models.tolist()))
    }
    return {**_scores(y, pred), "per_model": per_model}


# ---------------------------------------------------------------------------------------------
# The surrogate


@dataclass
class Surrogate:
    """Validation accuracy, test accuracy and failure as functions of the configuration.

    `val_model` and `test_model` are the chosen regressor refitted on every successful
    configuration; `fail_model` is a classifier of failure, or None when the candidates never
    (or always) failed and `p_fail_const` is the probability. `noise_sd` ({"val", "test"},
    accuracy fractions) is the seed-to-seed spread of retraining one configuration: the
    regressors model the mean, `sample` adds this noise back so that a simulated search meets
    the same luck a real one does.
    """

    space: SearchSpace
    regressor: str
    val_model: Any
    test_model: Any
    fail_model: Any | None
    p_fail_const: float
    noise_sd: dict[str, float]
    fidelity: Fidelity

    @classmethod
    def fit(
        cls,
        candidates: Sequence[Configuration],
        space: SearchSpace,
        noise_sd: Mapping[str, float],
        seed: int = 0,
        folds: int = 5,
        holdout: float = 0.2,
    ) -> Surrogate:
        """Choose, validate and fit the surrogate (steps in the order they run):

        1. the successful configurations (`val_acc` not None) are split at random (seeded) into a
           training part and a held-out `holdout` fraction; every regressor is scored by K-fold
           CV on the training part (target val_acc) and the best mean CV R² is chosen (ties: the
           first in `REGRESSORS`);
        2. the chosen regressor, fitted on the training part, is scored on the held-out part, for
           val_acc and test_acc, overall and per template: the fidelity the report quotes, on
           configurations the choice never saw;
        3. it is refitted on every successful configuration, once for val_acc, once for test_acc;
        4. failure (`failed` > 0.5) is a random-forest classifier over every configuration when
           both outcomes occur, else the constant fraction (mean of `failed`);
        5. `noise_sd` ({"val", "test"}, accuracy fractions, measured by the noise floor) is kept
           for `sample`.

        The split, the folds and every model are seeded with `seed`: same inputs, same surrogate.
        """
        sd = {k: float(noise_sd[k]) for k in ("val", "test")}
        if any(not math.isfinite(v) or v < 0 for v in sd.values()):
            raise ValueError(f"noise_sd must be finite and >= 0, got {sd}")
        if not 0 <= holdout < 1:
            raise ValueError(f"holdout must be in [0, 1), got {holdout}")
        cands = list(candidates)
        ok = [c for c in cands if c["val_acc"] is not None]
        X_all = encode_many(space, [c["macro"] for c in cands], [c["params"] for c in cands])
        X_ok = encode_many(space, [c["macro"] for c in ok], [c["params"] for c in ok])
        y_val = np.array([c["val_acc"] for c in ok], dtype=float)
        y_test = np.array([c["test_acc"] for c in ok], dtype=float)
        models = np.array([int(c["model"]) for c in ok])

        order = np.random.default_rng(seed).permutation(len(ok))
        n_hold = int(round(holdout * len(ok)))
        held, train = np.sort(order[:n_hold]), np.sort(order[n_hold:])
        if len(train) < max(MIN_TRAIN, folds):
            raise ValueError(
                f"{len(train)} successful configurations to train on (of {len(cands)}); "
                f"the surrogate needs at least {max(MIN_TRAIN, folds)}"
            )
        if holdout > 0 and n_hold < 3:
            raise ValueError(f"{n_hold} held-out configurations: too few to score the fit")

        # (1) choice by CV on the training part
        cv = cross_validate(X_ok[train], y_val[train], folds=folds, seed=seed)
        choice = next(iter(REGRESSORS))
        for name in REGRESSORS:
            if cv[name]["r2"] > cv[choice]["r2"]:
                choice = name
        runner_up = max((n for n in REGRESSORS if n != choice), key=lambda n: cv[n]["r2"])
        reason = (
            f"{choice}: highest mean {folds}-fold CV R² of val_acc on the {len(train)} training "
            f"configurations ({cv[choice]['r2']:.3f}; next {runner_up} "
            f"{cv[runner_up]['r2']:.3f})"
        )
        factory = REGRESSORS[choice]

        # (2) held-out fidelity of the choice
        held_scores: dict[str, HoldoutScores] | None = None
        if n_hold:
            held_scores = {}
            for key, y in (("val", y_val), ("test", y_test)):
                model = factory(seed).fit(X_ok[train], y[train])
                pred = np.clip(model.predict(X_ok[held]), 0.0, 1.0)
                held_scores[key] = _holdout_scores(y[held], pred, models[held])

        # (3) refit on everything
        val_model = factory(seed).fit(X_ok, y_val)
        test_model = factory(seed).fit(X_ok, y_test)

        # (4) failure
        failed = np.array([c["failed"] > 0.5 for c in cands])
        fail_model = None
        p_fail_const = float(np.mean([c["failed"] for c in cands]))
        if failed.any() and not failed.all():
            # Every feature at every split (bagged trees): failures follow sharp thresholds (a
            # learning rate that diverges), and with the default sqrt(features) a tree that
            # splits first on irrelevant features ends in pure leaves that reach across the
            # threshold: 5-10 % "ok" deep inside a region where every configuration failed.
            fail_model = RandomForestClassifier(
                n_estimators=200, max_features=None, random_state=seed, n_jobs=1
            )
            fail_model.fit(X_all, failed)

        fidelity: Fidelity = {
            "choice": choice,
            "reason": reason,
            "target": "val_acc",
            "folds": folds,
            "seed": seed,
            "cv": cv,
            "holdout_fraction": holdout,
            "holdout": held_scores,
            "n_candidates": len(cands),
            "n_ok": len(ok),
            "n_failed": int(failed.sum()),
            "n_train": len(train),
            "n_holdout": int(n_hold),
            "failure_model": "random-forest-classifier" if fail_model is not None else "constant",
            "p_fail": p_fail_const,
            "noise_sd": sd,
            "features": feature_names(space),
        }
        return cls(
            space=space,
            regressor=choice,
            val_model=val_model,
            test_model=test_model,
            fail_model=fail_model,
            p_fail_const=p_fail_const,
            noise_sd=sd,
            fidelity=fidelity,
        )

    def _predict_X(self, X: np.ndarray) -> dict[str, np.ndarray]:
        n = X.shape[0]
        if n == 0:
            return {k: np.zeros(0) for k in ("val", "test", "p_fail")}
        if self.fail_model is None:
            p_fail = np.full(n, self.p_fail_const)
        else:
            proba = self.fail_model.predict_proba(X)
            p_fail = proba[:, list(self.fail_model.classes_).index(True)]
        return {
            "val": np.clip(self.val_model.predict(X), 0.0, 1.0),
            "test": np.clip(self.test_model.predict(X), 0.0, 1.0),
            "p_fail": np.asarray(p_fail, dtype=float),
        }

    def predict(
        self, macros: Sequence[Sequence[int]], params_list: Sequence[Params]
    ) -> dict[str, np.ndarray]:
        """Expected val and test accuracy (clipped to [0, 1]) and failure probability of each
        configuration, without noise."""
        return self._predict_X(encode_many(self.space, macros, params_list))

    def sample(
        self,
        macros: Sequence[Sequence[int]],
        params_list: Sequence[Params],
        rng: np.random.Generator,
    ) -> list[Evaluation]:
        """One simulated evaluation of each configuration of the batch.

        Randoms: one call, ``z = rng.standard_normal((n, 3))``; row i belongs to configuration
        i. Configuration i fails when ``z[i, 0] < Φ⁻¹(p_fail)`` (the same event as a uniform
        draw below p_fail: p_fail 1 always fails, 0 never) and then scores 0 like a real failed
        candidate; else val = clip(pred_val + noise_sd.val * z[i, 1], 0, 1) and test =
        clip(pred_test + noise_sd.test * z[i, 2], 0, 1). Every row is drawn whether or not it
        fails, so the output depends only on the rng's state and the batch (its order and size),
        and seeds run in lockstep stay reproducible one batch at a time.
        """
        pred = self.predict(macros, params_list)
        n = len(pred["val"])
        z = rng.standard_normal((n, 3))
        fails = z[:, 0] < ndtri(pred["p_fail"])
        val = np.clip(pred["val"] + self.noise_sd["val"] * z[:, 1], 0.0, 1.0)
        test = np.clip(pred["test"] + self.noise_sd["test"] * z[:, 2], 0.0, 1.0)
        return [
            {"status": "failed", "val_acc": 0.0, "test_acc": 0.0}
            if fails[i]
            else {"status": "ok", "val_acc": float(val[i]), "test_acc": float(test[i])}
            for i in range(n)
        ]

    def importances(
        self, space: SearchSpace, n_samples: int = 2000, seed: int = 0
    ) -> dict[str, float]:
        """The surrogate's own importance of each mutable feature (macro bits, parameter names).

        What it measures: the functional-ANOVA main-effect variance of the surrogate's predicted
        val_acc under the uniform distribution over the space (as fANOVA, which the study reports
        for the real candidates, so the two can be set side by side): for feature f, the variance
        over f's values of the mean prediction with f fixed to that value and every other feature
        drawn at random. Monte Carlo: `n_samples` configurations drawn uniformly (bits and
        discrete choices uniform, continuous uniform in their unit scale, i.e. log-uniform for
        log parameters), each evaluated with f set to every point of a grid (its choices; for a
        continuous parameter the midpoints of `IMPORTANCE_GRID` equal bins of its unit scale, a
        quadrature of the uniform distribution). Interactions are not counted. Normalised to
        sum 1 over the features; equal shares when the prediction is constant.
        """
        feats = space.features
        if feature_names(space) != feature_names(self.space):
            raise ValueError("importances: space has other features than the surrogate's")
        rng = np.random.default_rng(seed)
        spans, start = [], 0
        for p in feats:
            width = len(_columns(p))
            spans.append(slice(start, start + width))
            start += width

        def grid(p: Parameter) -> list[Any]:
            if p.type == BINARY:
                return [0, 1]
            if p.type == CONTINUOUS:
                return [p.from_unit((k + 0.5) / IMPORTANCE_GRID) for k in range(IMPORTANCE_GRID)]
            return list(p.choices)

        X = np.zeros((n_samples, start))
        for p, cols in zip(feats, spans, strict=True):
            if p.type == CONTINUOUS:
                values = [p.from_unit(u) for u in rng.random(n_samples)]
            else:
                g = grid(p)
                values = [g[i] for i in rng.integers(0, len(g), n_samples)]
            X[:, cols] = [_encode_value(p, v) for v in values]

        blocks, owners = [], []
        for j, (p, cols) in enumerate(zip(feats, spans, strict=True)):
            for v in grid(p):
                Xv = X.copy()
                Xv[:, cols] = _encode_value(p, v)
                blocks.append(Xv)
                owners.append(j)
        pred = np.clip(self.val_model.predict(np.vstack(blocks)), 0.0, 1.0)
        marginals = pred.reshape(len(blocks), n_samples).mean(axis=1)
        owners_arr = np.array(owners)
        effects = np.array([np.var(marginals[owners_arr == j]) for j in range(len(feats))])
        total = effects.sum()
        if total <= 0:
            return {p.name: 1.0 / len(feats) for p in feats}
        return {p.name: float(e / total) for p, e in zip(feats, effects, strict=True)}
