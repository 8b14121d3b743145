"""hhnas.reporting.study_stats against scipy.stats' reference functions and hand computations."""

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.reporting.study_stats import (
    bootstrap_ci,
    combine_datasets,
    holm,
    interval_coverage,
    mean_sd,
    paired_comparison,
    paired_t_test,
    pareto_front,
    sign_flip_test,
    t_interval,
    tost_paired,
)

X4 = [0.901, 0.887, 0.912, 0.895]
# 30 accuracies around 0.90 with sd ~0.01 (0.9 + 0.01 * N(0, 1), seed 123, rounded to 1e-4).
X30 = [
    0.8901, 0.8963, 0.9129, 0.9019, 0.9092, 0.9058, 0.8936, 0.9054, 0.8968, 0.8968,
    0.901, 0.8847, 0.9119, 0.8933, 0.91, 0.9014, 0.9153, 0.8934, 0.8969, 0.9034,
    0.8779, 0.9083, 0.9154, 0.9113, 0.9075, 0.8985, 0.9128, 0.9107, 0.9039, 0.9001,
]  # fmt: skip

PAIRS = [
    ([0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.90, 0.90]),
    ([0.901, 0.887, 0.912, 0.895], [0.899, 0.893, 0.905, 0.897]),
    ([0.71, 0.80, 0.65, 0.90, 0.77], [0.75, 0.78, 0.70, 0.86, 0.80]),
    (X30[:15], X30[15:]),
    ([1.0, 2.0], [3.0, 2.5]),
]


# --- bootstrap_ci ----------------------------------------------------------------------------


def _scipy_percentile_ci(x: list[float]) -> tuple[float, float]:
    res = scipy.stats.bootstrap(
        (np.asarray(x),),
        np.mean,
        method="percentile",
        n_resamples=20000,
        random_state=0,
        confidence_level=0.95,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _mc_tolerance(x: list[float]) -> float:
    """How far two percentile bootstraps (10000 and 20000 resamples) may honestly disagree.

    The resampled mean has sd s = pop_sd(x) / sqrt(n). A 2.5 % quantile estimated from B draws
    has Monte Carlo sd sqrt(p (1 - p) / B) / f(q), with f(q) = phi(1.96) / s = 0.058 / s for a
    near-normal distribution: 0.027 s for B = 10000, 0.019 s for B = 20000, so the difference
    of the two estimates has sd ~0.033 s. 0.2 s is 6 of those sds (over 200 seeds the largest
    difference on X30 was 0.093 s), yet tight enough to fail for a 90 % interval (0.3 s off)
    or an unrelated interval. For X30, s = 0.0016, so the tolerance is ~3e-4 (the 0.002 one
    might guess would be 7 s wide and accept nearly anything).
    """
    return 0.2 * float(np.std(x)) / math.sqrt(len(x))


@pytest.mark.parametrize("x", [X4, X30], ids=["n4", "n30"])
def test_bootstrap_ci_matches_scipy_percentile(x):
    lo, hi = bootstrap_ci(x)
    ref_lo, ref_hi = _scipy_percentile_ci(x)
    tol = _mc_tolerance(x)
    assert lo == pytest.approx(ref_lo, abs=tol)
    assert hi == pytest.approx(ref_hi, abs=tol)
    assert lo < hi


def test_bootstrap_tolerance_can_tell_levels_apart():
    """The comparison above is not toothless: a 90 % interval falls outside the tolerance."""
    lo90, hi90 = bootstrap_ci(X30, level=0.90)
    ref_lo, ref_hi = _scipy_percentile_ci(X30)
    tol = _mc_tolerance(X30)
    assert abs(lo90 - ref_lo) > tol and abs(hi90 - ref_hi) > tol


def test_bootstrap_ci_n4_endpoints_by_hand():
    # With 4 values there are 4^4 = 256 equally likely resamples and their means sit on a few
    # atoms. Lowest atoms: 0.887 x4 (1 resample), 0.887 x3 + 0.895 = 0.889 (4), 0.887 x3 +
    # 0.901 = 0.8905 (4): cumulative 1/256, 5/256 = 0.0195, 9/256 = 0.035, so the exact 2.5 %
    # quantile is 0.8905. Highest: 0.912 x4 (1), 0.912 x3 + 0.901 = 0.90925 (4), 0.912 x3 +
    # 0.895 = 0.90775 (4): the 97.5 % quantile is 0.90775. 10000 resamples put the empirical
    # 2.5 % point within +-0.0016 (1 sd) of 0.025, well inside [0.0195, 0.035].
    lo, hi = bootstrap_ci(X4)
    assert lo == pytest.approx((3 * 0.887 + 0.901) / 4, abs=1e-12)
    assert hi == pytest.approx((3 * 0.912 + 0.895) / 4, abs=1e-12)


def test_bootstrap_ci_single_and_constant_values():
    assert bootstrap_ci([0.73]) == (0.73, 0.73)
    # 0.1 three times: the mean of the copies is 0.10000000000000002 in floats; still (c, c).
    assert bootstrap_ci([0.1, 0.1, 0.1]) == (0.1, 0.1)
    assert bootstrap_ci([0.5] * 7, seed=3) == (0.5, 0.5)


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    lo, hi = bootstrap_ci(X30, seed=11)
    assert lo < float(np.mean(X30)) < hi
    assert bootstrap_ci(X30, seed=11) == (lo, hi)
    assert bootstrap_ci(X30, seed=12) != (lo, hi)  # the seed is actually used
    wide = bootstrap_ci(X30, level=0.99, seed=11)
    assert wide[0] < lo and wide[1] > hi


def test_bootstrap_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([0.5, math.nan])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(X4, level=1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_bootstrap_ci_brackets_the_mean(values):
    lo, hi = bootstrap_ci(values, n_boot=2000)
    mean = float(np.mean(values))
    assert lo <= hi
    # 1e-12 slack: a mean of n copies of v can round to the float next to v.
    assert lo - 1e-12 <= mean <= hi + 1e-12
    assert min(values) - 1e-12 <= lo and hi <= max(values) + 1e-12


# --- mean_sd ---------------------------------------------------------------------------------


def test_mean_sd():
    mean, sd = mean_sd([1.0, 2.0, 4.0])
    assert mean == pytest.approx(7 / 3)
    # deviations -4/3, -1/3, 5/3: squares 16/9 + 1/9 + 25/9 = 42/9, / (n - 1) = 7/3
    assert sd == pytest.approx(math.sqrt(7 / 3))
    assert mean_sd([0.8]) == (0.8, 0.0)
    with pytest.raises(ValueError):
        mean_sd([])


# --- t_interval ------------------------------------------------------------------------------


def _scipy_t_interval(x, level=0.95) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    lo, hi = scipy.stats.t.interval(level, len(x) - 1, loc=np.mean(x), scale=scipy.stats.sem(x))
    return float(lo), float(hi)


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
@pytest.mark.parametrize("x", [X4, X30, [1.0, 2.0], [0.71, 0.80, 0.65, 0.90, 0.77]])
def test_t_interval_matches_scipy(x, level):
    lo, hi = t_interval(x, level)
    ref_lo, ref_hi = _scipy_t_interval(x, level)
    assert lo == pytest.approx(ref_lo, rel=1e-12, abs=1e-14)
    assert hi == pytest.approx(ref_hi, rel=1e-12, abs=1e-14)


def test_t_interval_by_hand():
    # X4: mean 3.595 / 4 = 0.89875; deviations 0.00225, -0.01175, 0.01325, -0.00375; squares
    # 5.0625e-6 + 1.380625e-4 + 1.755625e-4 + 1.40625e-5 = 3.3275e-4; sd^2 = 3.3275e-4 / 3;
    # se = sqrt(3.3275e-4 / 12) = 0.00526585; t_{3, 0.975} = 3.182446 (tables: 3.182):
    # half-width 0.0167584.
    lo, hi = t_interval(X4)
    half = 3.182446305284263 * math.sqrt(3.3275e-4 / 12)
    assert lo == pytest.approx(0.89875 - half, rel=1e-12)
    assert hi == pytest.approx(0.89875 + half, rel=1e-12)
    assert hi - lo == pytest.approx(2 * 0.0167584, rel=1e-5)


def test_t_interval_degenerate_and_bad_input():
    one = t_interval([0.73])
    assert math.isnan(one[0]) and math.isnan(one[1])
    assert t_interval([0.1, 0.1, 0.1]) == (0.1, 0.1)
    with pytest.raises(ValueError, match="at least one"):
        t_interval([])
    with pytest.raises(ValueError, match="finite"):
        t_interval([0.5, math.inf])
    with pytest.raises(ValueError, match="level"):
        t_interval(X4, level=0.0)


def test_t_interval_is_wider_than_the_percentile_bootstrap_at_n4():
    # The bootstrap cannot see beyond the observed values; the t quantile (3.18 at df 3, not
    # 1.96) pays for estimating sd from 4 values.
    t_lo, t_hi = t_interval(X4)
    b_lo, b_hi = bootstrap_ci(X4)
    assert t_lo < b_lo and t_hi > b_hi
    assert (t_hi - t_lo) > 1.5 * (b_hi - b_lo)


# Accuracies in points on a 0.01 grid: subnormal spreads would only test float underflow (where
# scipy's sem gives 0 and its interval NaN).
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 10_000).map(lambda k: k / 100), min_size=2, max_size=12),
    st.floats(0.5, 0.99),
)
def test_t_interval_property(values, level):
    lo, hi = t_interval(values, level)
    mean = float(np.mean(values))
    assert lo - 1e-9 <= mean <= hi + 1e-9
    if len(set(values)) > 1:
        ref_lo, ref_hi = _scipy_t_interval(values, level)
        assert lo == pytest.approx(ref_lo, rel=1e-9, abs=1e-9)
        assert hi == pytest.approx(ref_hi, rel=1e-9, abs=1e-9)
        wider = t_interval(values, min(0.999, level + 0.005))
        assert wider[0] < lo and wider[1] > hi


# --- interval_coverage -----------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 10, 200])
def test_t_interval_coverage_is_nominal(n):
    # 4000 trials: the coverage estimate has sd sqrt(0.95 * 0.05 / 4000) = 0.0034, so +-0.015 is
    # 4.4 sd; n = 4 is the study's number of real experiments per variant.
    assert interval_coverage("t", n, 4000, seed=1) == pytest.approx(0.95, abs=0.015)


def test_percentile_bootstrap_undercovers_at_n4():
    # At n = 4 a resampled mean cannot leave the observed range; its nominal 95 % interval
    # covers the true mean about 80 % of the time (sd of the estimate over 2000 trials: 0.009),
    # which is why the study does not call it a 95 % CI.
    cov = interval_coverage("percentile-bootstrap", 4, 2000, seed=2)
    assert 0.70 < cov < 0.88
    assert cov < interval_coverage("t", 4, 2000, seed=2) - 0.08


def test_interval_coverage_levels_and_determinism():
    assert interval_coverage("t", 5, 300, seed=7) == interval_coverage("t", 5, 300, seed=7)
    assert interval_coverage("t", 5, 4000, level=0.8, seed=3) == pytest.approx(0.80, abs=0.025)


def test_interval_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        interval_coverage("bca", 4, 10)
    with pytest.raises(ValueError, match="n >= 2"):
        interval_coverage("t", 1, 10)
    with pytest.raises(ValueError, match="trials"):
        interval_coverage("t", 4, 0)


# --- paired_t_test ---------------------------------------------------------------------------


@pytest.mark.parametrize("a,b", PAIRS)
def test_paired_t_matches_scipy(a, b):
    res = paired_t_test(a, b)
    ref = scipy.stats.ttest_rel(a, b)
    assert res["n"] == len(a)
    assert res["df"] == len(a) - 1
    assert res["t"] == pytest.approx(float(ref.statistic), rel=1e-9)
    assert res["p"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert res["mean_diff"] == pytest.approx(float(np.mean(np.subtract(a, b))), rel=1e-12)


def test_paired_t_by_hand():
    # d = 0.01, 0.02, 0.01, 0.03: mean 0.0175; deviations -0.0075, 0.0025, -0.0075, 0.0125;
    # squares 5.625e-5 + 6.25e-6 + 5.625e-5 + 1.5625e-4 = 2.75e-4; sd^2 = 2.75e-4 / 3;
    # se = sd / sqrt(4) = sqrt(2.75e-4 / 12) = 0.00478714; t = 0.0175 / se = 3.655631.
    res = paired_t_test([0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.90, 0.90])
    assert res["mean_diff"] == pytest.approx(0.0175, rel=1e-12)
    assert res["t"] == pytest.approx(0.0175 / math.sqrt(2.75e-4 / 12), rel=1e-9)
    assert res["t"] == pytest.approx(3.655631, rel=1e-6)
    assert res["df"] == 3
    # two-sided t_3 tail at 3.6556: between p(3.182) = 0.05 and p(4.541) = 0.02.
    assert 0.02 < res["p"] < 0.05


def test_paired_t_zero_variance_and_tiny_n():
    same = paired_t_test([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])
    assert (same["t"], same["p"], same["mean_diff"]) == (0.0, 1.0, 0.0)
    up = paired_t_test([0.5, 0.75, 1.0], [0.25, 0.5, 0.75])  # exact binary fractions: d = 0.25
    assert (up["t"], up["p"], up["mean_diff"]) == (math.inf, 0.0, 0.25)
    down = paired_t_test([0.25, 0.5], [0.5, 0.75])
    assert (down["t"], down["p"]) == (-math.inf, 0.0)
    one = paired_t_test([0.9], [0.8])
    assert one["n"] == 1 and one["df"] == 0
    assert math.isnan(one["t"]) and math.isnan(one["p"])
    assert one["mean_diff"] == pytest.approx(0.1)


def test_paired_tests_reject_unequal_lengths():
    with pytest.raises(ValueError, match=r"len\(a\)=3, len\(b\)=2"):
        paired_t_test([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"len\(a\)=1, len\(b\)=2"):
        sign_flip_test([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        paired_t_test([], [])


# --- paired_comparison ---------------------------------------------------------------------


@pytest.mark.parametrize("a,b", PAIRS)
def test_paired_comparison_matches_scipy(a, b):
    res = paired_comparison(a, b, level=0.9)
    d = np.subtract(a, b)
    ref = scipy.stats.ttest_rel(a, b)
    assert res["n"] == len(a) and res["df"] == len(a) - 1
    assert res["mean_diff"] == pytest.approx(float(np.mean(d)), rel=1e-12)
    assert res["sd_diff"] == pytest.approx(float(np.std(d, ddof=1)), rel=1e-12)
    assert res["se"] == pytest.approx(float(scipy.stats.sem(d)), rel=1e-12)
    assert res["t"] == pytest.approx(float(ref.statistic), rel=1e-9)
    assert res["p"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    lo, hi = _scipy_t_interval(d, 0.9)
    assert res["ci_low"] == pytest.approx(lo, rel=1e-9, abs=1e-14)
    assert res["ci_high"] == pytest.approx(hi, rel=1e-9, abs=1e-14)
    assert res["d_z"] == pytest.approx(float(np.mean(d) / np.std(d, ddof=1)), rel=1e-12)
    assert "margin" not in res and "p_tost" not in res


def test_paired_comparison_by_hand():
    # d = 0.01, 0.02, 0.01, 0.03 (see test_paired_t_by_hand): mean 0.0175, sd^2 = 2.75e-4 / 3,
    # so d_z = 0.0175 / 0.0095743 = 1.827815 and t = d_z * sqrt(4).
    a, b = PAIRS[0]
    res = paired_comparison(a, b, margin=0.01)
    assert res["sd_diff"] == pytest.approx(math.sqrt(2.75e-4 / 3), rel=1e-9)
    assert res["d_z"] == pytest.approx(1.827815, rel=1e-6)
    assert res["t"] == pytest.approx(2 * res["d_z"], rel=1e-12)
    # 95 % interval: 0.0175 +- 3.182446 * 0.00478714 = [0.002265, 0.032735]
    assert res["ci_low"] == pytest.approx(0.002265, abs=1e-6)
    assert res["ci_high"] == pytest.approx(0.032735, abs=1e-6)
    assert res["margin"] == 0.01
    assert res["p_tost"] == tost_paired(a, b, 0.01)["p"]


def test_paired_comparison_degenerate():
    up = paired_comparison([0.5, 0.75, 1.0], [0.25, 0.5, 0.75], margin=0.5)
    assert (up["t"], up["p"], up["sd_diff"]) == (math.inf, 0.0, 0.0)
    assert (up["ci_low"], up["ci_high"]) == (0.25, 0.25)
    assert math.isnan(up["d_z"])
    assert up["p_tost"] == 0.0  # a constant 0.25 lies inside +-0.5
    one = paired_comparison([0.9], [0.8], margin=0.5)
    assert one["n"] == 1 and one["df"] == 0
    for key in ("sd_diff", "se", "ci_low", "ci_high", "d_z", "t", "p", "p_tost"):
        assert math.isnan(one[key]), key
    with pytest.raises(ValueError, match="level"):
        paired_comparison([1.0, 2.0], [2.0, 3.0], level=95)


# --- tost_paired -----------------------------------------------------------------------------


@pytest.mark.parametrize("margin", [0.005, 0.02, 0.1])
@pytest.mark.parametrize("a,b", PAIRS)
def test_tost_matches_scipy_one_sided_tests(a, b, margin):
    d = np.subtract(a, b)
    res = tost_paired(a, b, margin)
    lower = scipy.stats.ttest_1samp(d, -margin, alternative="greater")
    upper = scipy.stats.ttest_1samp(d, margin, alternative="less")
    assert res["t_lower"] == pytest.approx(float(lower.statistic), rel=1e-9)
    assert res["t_upper"] == pytest.approx(float(upper.statistic), rel=1e-9)
    assert res["p_lower"] == pytest.approx(float(lower.pvalue), rel=1e-9, abs=1e-15)
    assert res["p_upper"] == pytest.approx(float(upper.pvalue), rel=1e-9, abs=1e-15)
    assert res["p"] == max(res["p_lower"], res["p_upper"])
    # The same one-sided test written as a shifted ttest_rel.
    rel = scipy.stats.ttest_rel(a, np.asarray(b) - margin, alternative="greater")
    assert res["p_lower"] == pytest.approx(float(rel.pvalue), rel=1e-9, abs=1e-15)


def test_tost_by_hand():
    # d = 0.01, 0.02, 0.01, 0.03: se = 0.00478714; margin 0.01: t_lower = 0.0275 / se = 5.7446,
    # t_upper = 0.0075 / se = 1.5667. The upper test fails (mean 0.0175 > margin): p near 0.9.
    res = tost_paired([0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.90, 0.90], 0.01)
    se = math.sqrt(2.75e-4 / 12)
    assert res["t_lower"] == pytest.approx(0.0275 / se, rel=1e-9)
    assert res["t_upper"] == pytest.approx(0.0075 / se, rel=1e-9)
    assert res["df"] == 3 and res["margin"] == 0.01
    assert res["p"] == res["p_upper"] > 0.85
    # A margin of 0.04 contains the whole 90 % interval [0.0062, 0.0288]: equivalent at 5 %.
    assert tost_paired([0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.90, 0.90], 0.04)["p"] < 0.05


def test_tost_degenerate_and_bad_input():
    # Constant differences of 0.25 (exact binary fractions).
    a, b = [0.5, 0.75, 1.0], [0.25, 0.5, 0.75]
    assert tost_paired(a, b, 0.5)["p"] == 0.0
    assert tost_paired(a, b, 0.25)["p"] == 1.0  # on the bound: H02 (mean >= margin) holds
    assert tost_paired(a, b, 0.125)["p"] == 1.0
    assert tost_paired(b, a, 0.5)["p"] == 0.0
    assert tost_paired(b, a, 0.125)["p"] == 1.0
    assert math.isnan(tost_paired([0.9], [0.8], 0.5)["p"])
    for bad in (0.0, -0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match="margin"):
            tost_paired(a, b, bad)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=2, max_size=10),
    st.integers(1, 60),
    st.sampled_from([0.01, 0.05, 0.1]),
)
def test_tost_equals_interval_inclusion(pairs, margin, alpha):
    """p < alpha exactly when the (1 - 2 alpha) t-interval lies inside (-margin, margin)."""
    a = [float(x) for x, _ in pairs]
    b = [float(y) for _, y in pairs]
    res = tost_paired(a, b, float(margin))
    lo, hi = t_interval(np.subtract(a, b), 1.0 - 2.0 * alpha)
    if np.ptp(np.subtract(a, b)) == 0:
        assert res["p"] == (0.0 if abs(a[0] - b[0]) < margin else 1.0)
        return
    inside = -margin < lo and hi < margin
    # Skip the knife edge, where the two sides of an equality may round apart.
    if min(abs(lo + margin), abs(hi - margin)) > 1e-9 * (1 + margin):
        assert (res["p"] < alpha) == inside


# --- holm ------------------------------------------------------------------------------------


def test_holm_by_hand():
    # Ascending: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised
    # to the running max 0.06); back in input order [0.01, 0.04, 0.03, 0.005].
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], rel=1e-12)
    # Capped at 1, and the cap carries down the step.
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    # Running max: 0.011 alone would be 0.011, but it cannot beat the 0.02 before it.
    assert holm([0.011, 0.01]) == pytest.approx([0.02, 0.02], rel=1e-12)
    # Ties get one value: 3 x 0.02 = 0.06 for both, then 0.5.
    assert holm([0.02, 0.5, 0.02]) == pytest.approx([0.06, 0.5, 0.06], rel=1e-12)
    assert holm([0.03]) == [0.03]
    assert holm([]) == []


def test_holm_nan_passthrough():
    # m = 2, not 3: 0.01 x 2 = 0.02, 0.04 x 1 = 0.04.
    out = holm([0.01, math.nan, 0.04])
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.04)
    assert math.isnan(out[1])
    assert all(math.isnan(p) for p in holm([math.nan, math.nan]))


def test_holm_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.5, 1.5])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([-0.1])
    with pytest.raises(ValueError, match="flat"):
        holm([[0.1, 0.2]])


def _holm_rejections(p: list[float], alpha: float) -> set[int]:
    """Holm's sequential procedure as written: reject in ascending order while
    p_(j) <= alpha / (m - j + 1), stop at the first that fails."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected: set[int] = set()
    for j, i in enumerate(order):
        if p[i] > alpha / (len(p) - j):
            break
        rejected.add(i)
    return rejected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=15))
def test_holm_properties(raw):
    p = [k / 1000 for k in raw]
    adj = holm(p)
    m = len(p)
    for pi, ai in zip(p, adj, strict=True):
        assert pi - 1e-15 <= ai <= 1.0
        assert ai <= min(1.0, m * pi) + 1e-12  # never worse than Bonferroni
    for i in range(m):
        for j in range(m):
            if p[i] <= p[j]:
                assert adj[i] <= adj[j] + 1e-15
    # An alpha no k * p can hit exactly (p on a 1/1000 grid), so both sides agree on ties.
    alpha = 0.0493
    assert {i for i, a in enumerate(adj) if a <= alpha} == _holm_rejections(p, alpha)


# --- combine_datasets ------------------------------------------------------------------------


def _comp(n: int, mean_diff: float, sd_diff: float) -> dict:
    return {"n": n, "mean_diff": mean_diff, "sd_diff": sd_diff}


def test_combine_datasets_by_hand():
    # Dataset 1: n 4, mean 1.0, sd 2.0 -> v1 = 4 / 4 = 1; dataset 2: n 9, mean 0.5, sd 3.0 ->
    # v2 = 9 / 9 = 1. Estimate (1.0 + 0.5) / 2 = 0.75; se = sqrt(1 + 1) / 2 = 0.7071068;
    # df = (1 + 1)^2 / (1 / 3 + 1 / 8) = 4 / (11 / 24) = 96 / 11 = 8.727; t = 1.0606602.
    res = combine_datasets([_comp(4, 1.0, 2.0), _comp(9, 0.5, 3.0)], margin=2.0)
    se, df = math.sqrt(2) / 2, 96 / 11
    assert res["n"] == 13 and res["k"] == 2
    assert res["mean_diff"] == 0.75
    assert res["se"] == pytest.approx(se, rel=1e-12)
    assert res["df"] == pytest.approx(df, rel=1e-12)
    assert res["t"] == pytest.approx(0.75 / se, rel=1e-12)
    assert res["p"] == pytest.approx(2 * scipy.stats.t.sf(0.75 / se, df), rel=1e-9)
    assert res["p"] == pytest.approx(0.317314, abs=1e-6)
    q = scipy.stats.t.ppf(0.975, df)  # 2.2730
    assert res["ci_low"] == pytest.approx(0.75 - q * se, rel=1e-9)
    assert res["ci_high"] == pytest.approx(0.75 + q * se, rel=1e-9)
    # TOST at +-2: t_lower = 2.75 / se, t_upper = -1.25 / se; the upper side decides.
    p_upper = scipy.stats.t.cdf(-1.25 / se, df)
    assert p_upper > scipy.stats.t.sf(2.75 / se, df)
    assert res["p_tost"] == pytest.approx(p_upper, rel=1e-9)
    assert res["p_tost"] == pytest.approx(0.055971, abs=1e-6)
    assert res["margin"] == 2.0
    assert math.isnan(res["d_z"]) and math.isnan(res["sd_diff"])


@pytest.mark.parametrize("a,b", PAIRS)
def test_combine_one_dataset_is_that_comparison(a, b):
    single = paired_comparison(a, b, level=0.9, margin=0.01)
    res = combine_datasets([single], level=0.9, margin=0.01)
    assert res["n"] == single["n"] and res["mean_diff"] == single["mean_diff"]
    for key in ("se", "df", "t", "p", "ci_low", "ci_high", "p_tost"):
        assert res[key] == pytest.approx(single[key], rel=1e-9, abs=1e-15), key


def test_combine_datasets_degenerate_and_bad_input():
    zero = combine_datasets([_comp(3, 0.25, 0.0), _comp(4, 0.5, 0.0)], margin=0.5)
    assert (zero["t"], zero["p"], zero["df"]) == (math.inf, 0.0, 5.0)
    assert (zero["ci_low"], zero["ci_high"]) == (0.375, 0.375)
    assert zero["p_tost"] == 0.0
    none = combine_datasets([_comp(3, 0.0, 0.0), _comp(4, 0.0, 0.0)])
    assert (none["t"], none["p"]) == (0.0, 1.0) and "p_tost" not in none
    # One dataset with one pair: its spread is unknown, and so is the overall one.
    one = combine_datasets([_comp(1, 0.3, math.nan), _comp(4, 0.5, 1.0)], margin=1.0)
    assert one["mean_diff"] == pytest.approx(0.4)
    for key in ("se", "t", "df", "p", "ci_low", "ci_high", "p_tost"):
        assert math.isnan(one[key]), key
    with pytest.raises(ValueError, match="at least one"):
        combine_datasets([])
    with pytest.raises(ValueError, match="sd_diff"):
        combine_datasets([{"n": 4, "mean_diff": 0.1}])
    with pytest.raises(ValueError, match="margin"):
        combine_datasets([_comp(4, 1.0, 2.0)], margin=0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(2, 50), st.floats(0.1, 10.0)), min_size=1, max_size=6))
def test_combine_df_between_smallest_and_pooled(datasets):
    res = combine_datasets([_comp(n, 0.1, sd) for n, sd in datasets])
    ns = [n for n, _ in datasets]
    assert min(ns) - 1 - 1e-9 <= res["df"] <= sum(n - 1 for n in ns) + 1e-9


# --- sign_flip_test --------------------------------------------------------------------------


def _scipy_sign_flip_p(a, b) -> float:
    d = np.subtract(a, b)
    res = scipy.stats.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    )
    # One sample + 'samples' = the sign-flip null: all 2^n patterns, once each.
    assert len(res.null_distribution) == 2 ** len(d)
    return float(res.pvalue)


@pytest.mark.parametrize("a,b", PAIRS[:3] + [(X30[:10], X30[10:20]), ([0.5, 0.5], [0.5, 0.5])])
def test_sign_flip_matches_scipy_permutation_test(a, b):
    res = sign_flip_test(a, b)
    assert res["n"] == len(a)
    assert res["p"] == pytest.approx(_scipy_sign_flip_p(a, b), abs=1e-12)
    assert res["mean_diff"] == pytest.approx(float(np.mean(np.subtract(a, b))), rel=1e-12)


def test_sign_flip_by_hand():
    # All four differences positive: only "no flip" and "flip all" reach |mean| = 0.0175,
    # so p = 2 / 2^4 = 0.125, the smallest a 4-experiment comparison can give.
    res = sign_flip_test([0.90, 0.92, 0.91, 0.93], [0.89, 0.90, 0.90, 0.90])
    assert res["p"] == 0.125
    # d = 1, 1, 3: |mean| >= 5/3 for (+,+,+), (-,-,-) only -> 2/8; (1, 1, -3) etc. give 1/3.
    assert sign_flip_test([1.0, 1.0, 3.0], [0.0, 0.0, 0.0])["p"] == 0.25
    # d = 1, -1: the observed mean is 0, every pattern reaches it.
    assert sign_flip_test([1.0, 0.0], [0.0, 1.0])["p"] == 1.0
    # One pair: d and -d are the only patterns, both as extreme -> p = 1.
    assert sign_flip_test([0.9], [0.8])["p"] == 1.0


def test_sign_flip_limit():
    assert sign_flip_test([1.0] * 20, [0.0] * 20)["p"] == pytest.approx(2 / 2**20)
    with pytest.raises(ValueError, match="fewer experiments"):
        sign_flip_test([1.0] * 21, [0.0] * 21)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=2, max_size=8))  # scipy needs n >= 2
def test_sign_flip_agrees_with_scipy_on_tied_data(diffs):
    # Differences k/16 are exact binary fractions: many sign patterns tie exactly, and no
    # rounding muddies what "as extreme" means (see the next test for when it does).
    a = [0.5 + k / 16 for k in diffs]
    b = [0.5] * len(diffs)
    assert sign_flip_test(a, b)["p"] == pytest.approx(_scipy_sign_flip_p(a, b), abs=1e-12)


def test_sign_flip_float_ties_near_zero():
    # 0.54 - 0.5 = 0.040000000000000036 but 0.46 - 0.5 = -0.03999999999999998: the observed
    # mean is 2.8e-17 instead of 0. Every pattern's |mean| is within 1e-12 of it (p = 1, the
    # answer for the intended data); scipy's tolerance is relative to the observed value
    # (100 eps x 2.8e-17) and it counts only 12 of the 16 patterns (p = 0.75).
    a, b = [0.54, 0.54, 0.46, 0.46], [0.5] * 4
    assert sign_flip_test(a, b)["p"] == 1.0
    assert _scipy_sign_flip_p(a, b) == pytest.approx(0.75)


# --- pareto_front ----------------------------------------------------------------------------


def test_pareto_front_by_hand():
    points = [
        (10.0, 0.90),  # 0: front (cheapest at 0.90)
        (20.0, 0.95),  # 1: front
        (20.0, 0.93),  # 2: dominated by 1 (same cost, lower accuracy)
        (30.0, 0.95),  # 3: dominated by 1 (same accuracy, higher cost)
        (5.0, 0.80),  # 4: front (cheapest of all)
        (40.0, 0.97),  # 5: front
        (20.0, 0.95),  # 6: duplicate of 1: neither dominates the other, both stay
        (15.0, 0.85),  # 7: dominated by 0
    ]
    assert pareto_front(points) == [4, 0, 1, 6, 5]


def test_pareto_front_edge_cases():
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 0.5)]) == [0]
    assert pareto_front([(2.0, 0.5), (1.0, 0.5)]) == [1]
    with pytest.raises(ValueError):
        pareto_front([(1.0, math.nan)])


def _dominates(q, p) -> bool:
    return q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=25))
def test_pareto_front_properties(raw):
    points = [(float(c), a / 10) for c, a in raw]  # small grids: plenty of ties
    front = pareto_front(points)
    assert len(set(front)) == len(front)
    assert [points[i][0] for i in front] == sorted(points[i][0] for i in front)
    for i in front:
        assert not any(_dominates(q, points[i]) for q in points)
    for j in set(range(len(points))) - set(front):
        assert any(_dominates(points[i], points[j]) for i in front)
