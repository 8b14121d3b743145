"""hhnas.reporting.study_stats against scipy.stats' reference functions and hand computations."""

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.reporting.study_stats import (
    bootstrap_ci,
    mean_sd,
    paired_t_test,
    pareto_front,
    sign_flip_test,
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
