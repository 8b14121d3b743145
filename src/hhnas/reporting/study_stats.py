"""Small-sample statistics for comparing search variants over a handful of experiments.

A study runs each variant for only a few experiments (4 by default), so the usual summaries
need care: a percentile bootstrap of the mean says how far the mean of 4 values can be
trusted, a paired t test and an exact sign-flip test compare two variants run on the same
seeds (experiment i of both variants shares its seed, so the pairs are not independent), and a
Pareto front picks the candidates worth a reader's look when cost and accuracy pull apart.

Everything here is plain numpy and math; scipy provides only the t distribution's tail
(:func:`scipy.special.stdtr`), so that the tests can check these implementations against
scipy.stats' reference functions instead of against themselves.

The "iterations to 99 % of the best" helper lives in
:func:`hhnas.reporting.comparison.iterations_to_fraction` (with its float slack and NaN
handling for failed candidates) and is not repeated here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import stdtr

# Slack on "|flipped mean| >= |observed mean|": a flip that reproduces the observed differences
# sums them in another order, which can land one ulp below the observed mean.
_TIE_TOL = 1e-12
# 2**20 sign patterns (about a million) is still quick; beyond that the enumeration is not.
MAX_SIGN_FLIP_N = 20


def _finite_1d(values: Sequence[float], what: str) -> np.ndarray:
    """`values` as a 1-D float array; NaN/inf rejected (they would silently poison a mean)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite, got {arr.tolist()}")
    return arr


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """a - b for paired results; both must hold one value per experiment, in the same order."""
    x, y = _finite_1d(a, "a"), _finite_1d(b, "b")
    if len(x) != len(y):
        raise ValueError(f"paired samples need equal lengths, got len(a)={len(x)}, len(b)={len(y)}")
    if len(x) == 0:
        raise ValueError("paired samples are empty: there is nothing to compare")
    return x - y


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 10000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of `values`.

    Resamples `values` with replacement `n_boot` times (one vectorised draw from
    ``numpy.random.default_rng(seed)``, so the interval is reproducible) and returns the
    ``(1 - level) / 2`` and ``1 - (1 - level) / 2`` quantiles of the resampled means (numpy's
    default linear interpolation, as scipy.stats.bootstrap's ``method='percentile'``).

    The percentile interval needs no normality assumption, which a mean of 4 accuracies
    cannot support; with so few values it is narrower than it should be (the bootstrap cannot
    see beyond the observed range), so read it as a description of the spread, not a
    guarantee. One value, or n copies of one, gives ``(v, v)``; no value raises ValueError.
    """
    x = _finite_1d(values, "values")
    n = len(x)
    if n == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if np.all(x == x[0]):
        # One value or a constant: every resample is that value; averaging n copies of it
        # could round to a neighbouring float and give an interval that misses it.
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of `values`, as floats.

    The sample sd, because the experiments are a sample of the seeds one could have run. One
    value has no spread to estimate and gets sd 0.0 (not NaN, so tables stay numeric); no value
    raises ValueError. (:func:`hhnas.reporting.comparison.mean_sd` is the table cell formatter
    ``"<mean> ± <sd>"``; this one returns the numbers.)
    """
    x = _finite_1d(values, "values")
    if len(x) == 0:
        raise ValueError("mean_sd needs at least one value")
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return float(np.mean(x)), sd


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Two-sided paired t test of mean(a - b) = 0, for two variants run on the same seeds.

    Returns ``{"n", "mean_diff", "t", "df", "p"}`` with t = mean(d) / (sd(d) / sqrt(n)),
    sd with ddof=1, df = n - 1 and p = 2 * P(T_df <= -|t|) (the same numbers as
    ``scipy.stats.ttest_rel(a, b)``). Pairing removes the seed-to-seed variation that both
    variants share, which an unpaired test would count as noise.

    Degenerate cases, where scipy returns NaN or warns:

    * all differences identical (sd exactly 0): t = 0, p = 1.0 when they are all 0 (no
      difference at all), else t = +-inf and p = 0.0 (a constant, non-zero shift). Differences
      that are equal only in exact arithmetic (0.9 - 0.8 vs 0.8 - 0.7) are not identical
      floats and get a huge finite t, as in scipy.
    * n = 1: one difference has no sample sd, so t and p are NaN (df = 0); report "no test".

    Unequal lengths or no pairs raise ValueError.
    """
    d = _differences(a, b)
    n = len(d)
    mean_diff = float(np.mean(d))
    out: dict[str, Any] = {"n": n, "mean_diff": mean_diff, "df": n - 1}
    if n < 2:
        return {**out, "t": math.nan, "p": math.nan}
    if np.all(d == d[0]):
        if d[0] == 0.0:
            return {**out, "mean_diff": 0.0, "t": 0.0, "p": 1.0}
        return {**out, "mean_diff": float(d[0]), "t": math.copysign(math.inf, d[0]), "p": 0.0}
    sd = float(np.std(d, ddof=1))
    t = mean_diff / (sd / math.sqrt(n))
    p = float(2.0 * stdtr(n - 1, -abs(t)))
    return {**out, "t": t, "p": min(1.0, p)}


def sign_flip_test(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Exact paired permutation (sign-flip) test of mean(a - b) = 0, two-sided.

    Under the null hypothesis the label "a" or "b" within a pair is arbitrary, so each
    difference d_i is as likely to be +d_i as -d_i. All 2^n sign patterns are enumerated and
    p is the fraction whose |mean| is >= the observed |mean| (with a 1e-12 slack for float
    ties); the observed pattern is one of them, so p >= 2 / 2^n whenever the mean is non-zero.
    This is ``scipy.stats.permutation_test((a - b,), np.mean, permutation_type='samples',
    n_resamples=np.inf, alternative='two-sided')``. Unlike the t test it assumes no
    distribution, but it is coarse: with 4 experiments the smallest possible p is
    2/16 = 0.125, so it can never reach 0.05 and a "not significant" there says little.

    Returns ``{"n", "mean_diff", "p"}``. More than 20 pairs raises ValueError (2^n patterns
    would be too many; use fewer experiments or the t test); unequal lengths or no pairs too.
    """
    d = _differences(a, b)
    n = len(d)
    if n > MAX_SIGN_FLIP_N:
        raise ValueError(
            f"sign_flip_test enumerates 2^n sign flips; n={n} > {MAX_SIGN_FLIP_N} is too many. "
            "Compare fewer experiments or use paired_t_test"
        )
    # Meet in the middle: every signed sum of the first half plus every signed sum of the
    # second half gives all 2^n signed sums with 2^n floats of memory, not 2^n x n.
    half = n // 2
    total = np.add.outer(_signed_sums(d[:half]), _signed_sums(d[half:])).ravel()
    observed = float(np.mean(d))
    p = float(np.mean(np.abs(total / n) >= abs(observed) - _TIE_TOL))
    return {"n": n, "mean_diff": observed, "p": p}


def _signed_sums(x: np.ndarray) -> np.ndarray:
    """sum_i s_i x_i for every s in {+1, -1}^len(x) (a single 0.0 for an empty x)."""
    sums = np.zeros(1)
    for value in x:
        sums = np.concatenate([sums + value, sums - value])
    return sums


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, accuracy) points that no other point dominates, sorted by cost.

    Cost is minimised and accuracy maximised: q dominates p when q's cost <= p's and q's
    accuracy >= p's with at least one strict, so exact duplicates keep each other on the front
    (neither is better) while a point that only ties another's accuracy at a higher cost does
    not. Points of equal cost on the front are ordered by index. These are the candidates a
    reader should look at: any other one is beaten by a front point on both axes.
    """
    if len(points) == 0:
        return []
    arr = np.asarray(points, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must be (cost, accuracy) pairs, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points must be finite")
    cost, acc = arr[:, 0], arr[:, 1]
    # Cheapest first, most accurate first within a cost, then by index: a sweep keeps the best
    # accuracy seen at strictly lower cost.
    order = np.lexsort((np.arange(len(arr)), -acc, cost))
    front: list[int] = []
    best_cheaper = -math.inf  # best accuracy among points strictly cheaper than the current
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and cost[order[j]] == cost[order[i]]:
            j += 1
        group = order[i:j]
        top = acc[group[0]]
        if top > best_cheaper:
            front.extend(int(k) for k in group if acc[k] == top)
        best_cheaper = max(best_cheaper, top)
        i = j
    return front
