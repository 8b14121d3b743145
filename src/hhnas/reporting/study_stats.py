"""Small-sample statistics for comparing search variants over a handful of experiments.

A study runs each variant for only a few experiments (4 by default) on the real models and for
hundreds of seeds on the surrogate benchmark, so the summaries must hold at small n:

* a mean is reported with its Student-t interval (:func:`t_interval`), which has its nominal
  coverage at any n >= 2 when the values are roughly normal. The percentile bootstrap
  (:func:`bootstrap_ci`) is kept only as a description of spread and is not labelled a 95 %
  CI: at n = 4 it covers the mean about 80 % of the time, not 95 %
  (:func:`interval_coverage` measures both by simulation);
* two variants run on the same seeds (experiment i of both shares its seed, so the pairs are
  not independent) are compared by the paired difference: its mean, t-interval and Cohen's
  d_z, the paired t test, and an exact sign-flip test (:func:`paired_comparison`,
  :func:`paired_t_test`, :func:`sign_flip_test`); across datasets the per-dataset differences
  are averaged (:func:`combine_datasets`);
* "no difference" is claimed only by an equivalence test (:func:`tost_paired`, Schuirmann's two
  one-sided tests) against a margin fixed before the runs, because a non-significant
  difference at n = 4 says little;
* every reported comparison is Holm-adjusted (:func:`holm`), so that reporting many of them
  does not manufacture a significant one;
* a Pareto front picks the candidates worth a reader's look when cost and accuracy pull apart.

Everything here is plain numpy and math; scipy provides only the t distribution's tail and
quantile (:func:`scipy.special.stdtr`, :func:`scipy.special.stdtrit`), so that the tests can
check these implementations against scipy.stats' reference functions instead of against
themselves.

The "iterations to 99 % of the best" helper lives in
:func:`hhnas.reporting.comparison.iterations_to_fraction` (with its float slack and NaN
handling for failed candidates) and is not repeated here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import stdtr, stdtrit

from hhnas.reporting.records import PairedComparison, SignFlip, Tost, TTest

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
    see beyond the observed range: at n = 4 a nominal 95 % interval covers the true mean about
    80 % of the time, see :func:`interval_coverage`), so read it as a description of the
    spread, not a confidence interval; :func:`t_interval` is the interval to report. One
    value, or n copies of one, gives ``(v, v)``; no value raises ValueError.
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


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean of `values`: mean +- q * sd / sqrt(n).

    sd with ddof=1 and q the ``(1 + level) / 2`` quantile of t with n - 1 degrees of freedom
    (:func:`scipy.special.stdtrit`); the same numbers as ``scipy.stats.t.interval(level, n - 1,
    loc=mean, scale=sd / sqrt(n))``. Unlike the percentile bootstrap it widens the interval
    for the uncertainty of sd itself, so it keeps its coverage at n = 4 as long as the values
    are roughly normal (a mean of accuracies over seeds usually is; a single wild seed is not,
    and shows up in the sd).

    One value has no spread to estimate: ``(nan, nan)``. n identical values: ``(v, v)`` (sd is
    exactly 0; the mean of n copies could round to a neighbouring float). No value, non-finite
    values or a level outside (0, 1) raise ValueError.
    """
    x = _finite_1d(values, "values")
    n = len(x)
    if n == 0:
        raise ValueError("t_interval needs at least one value")
    _check_level(level)
    if n == 1:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    mean = float(np.mean(x))
    half = _t_quantile(n - 1, level) * float(np.std(x, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _t_quantile(df: float, level: float) -> float:
    """The two-sided `level` critical value of t_df: P(|T| <= q) = level."""
    return float(stdtrit(df, 0.5 + level / 2.0))


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> TTest:
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

    def result(mean_diff: float, t: float, p: float) -> TTest:
        return {"n": n, "mean_diff": mean_diff, "df": n - 1, "t": t, "p": p}

    if n < 2:
        return result(float(np.mean(d)), math.nan, math.nan)
    if np.all(d == d[0]):
        if d[0] == 0.0:
            return result(0.0, 0.0, 1.0)
        return result(float(d[0]), math.copysign(math.inf, d[0]), 0.0)
    mean_diff = float(np.mean(d))
    sd = float(np.std(d, ddof=1))
    t = mean_diff / (sd / math.sqrt(n))
    p = float(2.0 * stdtr(n - 1, -abs(t)))
    return result(mean_diff, t, min(1.0, p))


def paired_comparison(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, margin: float | None = None
) -> PairedComparison:
    """Everything the study reports about a - b for two variants run on the same seeds.

    a[i] and b[i] share a seed. Returns

    * ``n``, ``mean_diff`` (mean of a - b), ``sd_diff`` (sd of a - b, ddof=1; NaN for one
      pair) and ``se`` (sd_diff / sqrt(n));
    * ``ci_low``, ``ci_high``: the t-interval of the mean difference at `level`
      (:func:`t_interval` of the differences), so the size of the effect is reported, not
      only whether it is zero;
    * ``d_z`` = mean_diff / sd_diff, Cohen's d_z for paired data: the shift in units of the
      seed-to-seed noise of the difference (NaN when sd_diff is 0 or n < 2, where it would
      be infinite or undefined);
    * ``t``, ``df``, ``p``: the two-sided paired t test of :func:`paired_t_test` (the same as
      ``scipy.stats.ttest_rel``), with its conventions for constant differences and n = 1;
    * with a `margin`: ``margin`` and ``p_tost``, the equivalence p of :func:`tost_paired`.

    Units are whatever the caller passes (the study passes accuracies in percentage points,
    so mean_diff, the interval and the margin are in points).
    """
    d = _differences(a, b)
    _check_level(level)
    test = paired_t_test(a, b)
    n = test["n"]
    sd = float(np.std(d, ddof=1)) if n > 1 else math.nan
    ci_low, ci_high = t_interval(d, level)
    out: PairedComparison = {
        "n": n,
        "mean_diff": test["mean_diff"],
        "sd_diff": sd,
        "se": sd / math.sqrt(n),
        "ci_low": ci_low,
        "ci_high": ci_high,
        "d_z": test["mean_diff"] / sd if n > 1 and sd > 0.0 else math.nan,
        "t": test["t"],
        "df": test["df"],
        "p": test["p"],
    }
    if margin is not None:
        out["margin"] = float(margin)
        out["p_tost"] = tost_paired(a, b, margin)["p"]
    return out


def tost_paired(a: Sequence[float], b: Sequence[float], margin: float) -> Tost:
    """Schuirmann's two one-sided paired t tests (TOST) for equivalence: |mean(a - b)| < margin.

    A non-significant difference is not evidence of no difference (with 4 experiments almost
    nothing is significant), so "as good as" needs its own test against a margin fixed before
    the runs. Both one-sided nulls must be rejected:

    * H01: mean_diff <= -margin, t_lower = (mean_diff + margin) / se, p_lower = P(T >= t_lower);
    * H02: mean_diff >= +margin, t_upper = (mean_diff - margin) / se, p_upper = P(T <= t_upper);

    with se = sd(a - b) / sqrt(n) (ddof=1) and T ~ t_{n-1}. ``p = max(p_lower, p_upper)``:
    equivalence is shown at alpha when p < alpha, which is the same as the (1 - 2 alpha)
    t-interval of the mean difference lying inside (-margin, margin). Each one-sided p equals
    ``scipy.stats.ttest_1samp(a - b, -margin, alternative='greater')`` and
    ``ttest_1samp(a - b, margin, alternative='less')``.

    Returns ``{"n", "mean_diff", "margin", "df", "t_lower", "t_upper", "p_lower", "p_upper",
    "p"}``. Constant differences (sd exactly 0), as in :func:`paired_t_test`: a one-sided p is
    0 when the difference lies strictly on the alternative's side of its bound and 1
    otherwise, so p = 0 when |d| < margin, else 1. One pair: NaN t and p (no spread to
    estimate). margin <= 0 or non-finite, unequal lengths or no pairs raise ValueError.
    """
    margin = _check_margin(margin)
    d = _differences(a, b)
    n = len(d)
    mean_diff = float(np.mean(d))
    if n < 2:
        return _tost(n, mean_diff, margin, math.nan, n - 1)
    if np.all(d == d[0]):
        return _tost(n, float(d[0]), margin, 0.0, n - 1)
    return _tost(n, mean_diff, margin, float(np.std(d, ddof=1)) / math.sqrt(n), n - 1)


def _check_margin(margin: float) -> float:
    m = float(margin)
    if not (math.isfinite(m) and m > 0.0):
        raise ValueError(f"the equivalence margin must be finite and > 0, got {margin}")
    return m


def _tost(n: int, est: float, margin: float, se: float, df: float) -> Tost:
    """The two one-sided tests of |est| < margin for an estimate with standard error se."""
    if math.isnan(se) or math.isnan(df):
        t_lower = t_upper = p_lower = p_upper = math.nan
    elif se == 0.0:
        # No noise: each null is rejected outright or not at all. Exactly on a bound the null
        # holds (H01 and H02 include their bounds), so p = 1 there.
        t_lower = math.inf if est > -margin else (-math.inf if est < -margin else 0.0)
        t_upper = -math.inf if est < margin else (math.inf if est > margin else 0.0)
        p_lower = 0.0 if est > -margin else 1.0
        p_upper = 0.0 if est < margin else 1.0
    else:
        t_lower = (est + margin) / se
        t_upper = (est - margin) / se
        p_lower = float(stdtr(df, -t_lower))
        p_upper = float(stdtr(df, t_upper))
    return {
        "n": n,
        "mean_diff": est,
        "margin": margin,
        "df": df,
        "t_lower": t_lower,
        "t_upper": t_upper,
        "p_lower": p_lower,
        "p_upper": p_upper,
        "p": max(p_lower, p_upper),
    }


def sign_flip_test(a: Sequence[float], b: Sequence[float]) -> SignFlip:
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


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the order of `pvalues`.

    With the m non-NaN p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted
    p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); rejecting where adjusted p < alpha controls
    the chance of any false claim among the m at alpha, whatever their dependence (the
    comparisons of one study share references and seeds, so independence cannot be assumed),
    and it rejects everything Bonferroni does and more. NaN entries (comparisons without a
    test, e.g. one pair) are passed through as NaN and not counted in m: a test that was not
    run cannot produce a false claim. Ties get the same adjusted value. An empty sequence gives
    ``[]``; p-values outside [0, 1] raise ValueError.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be a flat sequence of numbers, got shape {p.shape}")
    valid = ~np.isnan(p)
    if np.any((p[valid] < 0.0) | (p[valid] > 1.0)):
        raise ValueError(f"p-values must lie in [0, 1] (or be NaN), got {p.tolist()}")
    out = np.full(len(p), math.nan)
    idx = np.flatnonzero(valid)
    m = len(idx)
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out.tolist()


def combine_datasets(
    comparisons: Sequence[PairedComparison], level: float = 0.95, margin: float | None = None
) -> PairedComparison:
    """The overall comparison across k datasets from their :func:`paired_comparison` dicts.

    The estimate is the unweighted mean over datasets of ``mean_diff``: each dataset is one
    task the study asks about, so one with more seeds should not count for more. The datasets
    are independent samples, so its standard error is sqrt(sum_i sd_i^2 / n_i) / k, and its
    degrees of freedom follow Welch-Satterthwaite, (sum_i v_i)^2 / sum_i (v_i^2 / (n_i - 1))
    with v_i = sd_i^2 / n_i (between min(n_i) - 1 and sum(n_i - 1); a dataset whose difference
    has sd 0 adds nothing to either sum). With k = 1 this is that dataset's own comparison.

    Returns the keys of :func:`paired_comparison`: ``n`` (total pairs), ``mean_diff``, ``se``,
    ``ci_low``, ``ci_high`` (t-interval of the estimate), ``t``, ``df``, ``p`` (two-sided) and,
    with a `margin`, ``margin`` and ``p_tost`` (the two one-sided tests of :func:`tost_paired`
    on the estimate); ``sd_diff`` and ``d_z`` are NaN (there is no single sample of differences
    to scale by), and ``k`` is the number of datasets. Degenerate cases follow
    :func:`paired_t_test`: every sd 0 gives t = 0, p = 1 for a zero estimate, else t = +-inf,
    p = 0, with df = sum(n_i - 1) and the interval (est, est); a dataset with one pair (NaN sd)
    leaves the spread unknown, so t, df, p and the interval are NaN. No comparison, or one
    without ``n``, ``mean_diff`` and ``sd_diff``, raises ValueError.
    """
    _check_level(level)
    margin = None if margin is None else _check_margin(margin)
    k = len(comparisons)
    if k == 0:
        raise ValueError("combine_datasets needs at least one comparison")
    try:
        n = np.array([int(c["n"]) for c in comparisons])
        est_i = np.array([float(c["mean_diff"]) for c in comparisons])
        sd_i = np.array([float(c["sd_diff"]) for c in comparisons])
    except KeyError as exc:
        raise ValueError(f"each comparison needs n, mean_diff and sd_diff; missing {exc}") from exc
    if np.any(n < 1) or not np.all(np.isfinite(est_i)):
        raise ValueError(f"comparisons need n >= 1 and a finite mean_diff, got {comparisons}")
    est = float(np.mean(est_i))
    nan = math.nan
    total_n = int(n.sum())
    p_tost = nan
    if np.any(np.isnan(sd_i)) or np.any(n < 2):
        se = ci_low = ci_high = t = df = p = nan
    else:
        v = sd_i**2 / n
        total = float(v.sum())
        se = math.sqrt(total) / k
        if total == 0.0:
            df = float(np.sum(n - 1))
            t = 0.0 if est == 0.0 else math.copysign(math.inf, est)
            p = 1.0 if est == 0.0 else 0.0
            ci_low = ci_high = est
        else:
            df = total**2 / float(np.sum(v**2 / (n - 1)))
            t = est / se
            p = min(1.0, float(2.0 * stdtr(df, -abs(t))))
            half = _t_quantile(df, level) * se
            ci_low, ci_high = est - half, est + half
        if margin is not None:
            p_tost = _tost(total_n, est, margin, se, df)["p"]
    out: PairedComparison = {
        "n": total_n,
        "k": k,
        "mean_diff": est,
        "sd_diff": nan,
        "se": se,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "d_z": nan,
        "t": t,
        "df": df,
        "p": p,
    }
    if margin is not None:
        out["margin"] = margin
        out["p_tost"] = p_tost
    return out


INTERVAL_METHODS = ("t", "percentile-bootstrap")


def interval_coverage(
    method: str, n: int, trials: int, level: float = 0.95, seed: int = 0, n_boot: int = 2000
) -> float:
    """Fraction of `trials` simulated samples whose `method` interval covers the true mean.

    Each trial draws n values from a standard normal (``numpy.random.default_rng(seed)``) and
    asks whether the interval contains 0. Both intervals shift and scale with the data, so one
    normal is as good as any other; normal values are the case the t-interval is built for and
    a kind one for the bootstrap, so a shortfall here is not an artefact of skewed data.
    `method` is ``"t"`` (:func:`t_interval`) or ``"percentile-bootstrap"`` (:func:`bootstrap_ci`
    with `n_boot` resamples and its own seed per trial, so that trials do not share resampling
    noise). This is the check that the interval the study reports has its nominal coverage at
    the study's n: the t-interval does at n = 4; the percentile bootstrap covers only about
    80 % there, because resampled means cannot leave the observed range.

    Unknown methods, n < 2 (no interval has a width), trials < 1 or a bad level raise
    ValueError.
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method must be one of {INTERVAL_METHODS}, got {method!r}")
    if n < 2:
        raise ValueError(f"coverage needs n >= 2 values per sample, got {n}")
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    _check_level(level)
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal((trials, n))
    boot_seeds = rng.integers(0, 2**63, size=trials)
    covered = 0
    # The study's own functions, called once per trial, so that this measures exactly what
    # the report uses (including its handling of constant samples) rather than a re-derivation.
    for sample, boot_seed in zip(samples, boot_seeds, strict=True):
        if method == "t":
            lo, hi = t_interval(sample, level)
        else:
            lo, hi = bootstrap_ci(sample, n_boot=n_boot, level=level, seed=int(boot_seed))
        covered += lo <= 0.0 <= hi
    return covered / trials


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
