"""Each formula of the paper's 'Our Approach' against values computed by hand."""

import math
import random

import pytest

from hhnas.config.templates import model_number
from hhnas.search.mutation import flip, sample_continuous, step_discrete
from hhnas.search.qtable import (
    cumulative_q,
    direction_probability,
    mutation_probabilities,
    update_q,
)
from hhnas.search.space import DISCRETE, Parameter
from hhnas.search.statistics import (
    update_mean,
    update_variance,
    update_variance_distance,
    update_variance_moment,
)

Q = {"a": {"+": 1.0, "-": 1.0}, "b": {"+": 3.0, "-": 1.0}}


def test_cumulative_q_is_sum_over_actions():
    assert cumulative_q(Q, "a") == 2.0
    assert cumulative_q(Q, "b") == 4.0


def test_mutation_probability_normalised_by_max_q_times_maxprob():
    probs = mutation_probabilities(Q, 0.5)
    assert probs["a"] == pytest.approx(2 / 4 * 0.5)  # 0.25
    assert probs["b"] == pytest.approx(0.5)


def test_direction_probability_is_q_plus_over_q_sum():
    assert direction_probability(Q, "b") == pytest.approx(0.75)
    assert direction_probability(Q, "a") == pytest.approx(0.5)


def test_additive_q_update_and_floor():
    q = {"s": {"+": 1.0, "-": 1.0}}
    update_q(q, "s", "+", 0.02, alpha=5.0, update="additive", q_min=0.05)
    assert q["s"]["+"] == pytest.approx(1.1)
    update_q(q, "s", "-", -0.5, alpha=5.0, update="additive", q_min=0.05)
    assert q["s"]["-"] == pytest.approx(0.05)  # 1 - 2.5 floored


def test_multiplicative_q_update():
    q = {"s": {"+": 1.0, "-": 1.0}}
    update_q(q, "s", "+", 0.02, alpha=5.0, update="multiplicative", q_min=0.05)
    assert q["s"]["+"] == pytest.approx(math.exp(0.1))


def test_mean_update_literal_and_signed():
    # k (p - p_hat) = 0.5 * (0.9 - 0.8) = 0.05
    assert update_mean(0.4, 0.3, 0.9, 0.8, 0.5, "literal") == pytest.approx(0.45)
    assert update_mean(0.4, 0.6, 0.9, 0.8, 0.5, "signed") == pytest.approx(0.45)
    assert update_mean(0.4, 0.3, 0.9, 0.8, 0.5, "signed") == pytest.approx(0.35)
    assert update_mean(0.4, 0.4, 0.9, 0.8, 0.5, "signed") == pytest.approx(0.4)
    # a worse-than-average sample above the mean pushes the mean down
    assert update_mean(0.4, 0.6, 0.7, 0.8, 0.5, "signed") == pytest.approx(0.35)


def test_distance_variance_update_outside_and_inside():
    # sigma = 0.2, mu = 0.5
    # outside: s = 0.8, |s-mu|/sigma = 1.5 -> 0.04 + 0.5 * 0.5 * 0.1 = 0.065
    assert update_variance_distance(0.04, 0.5, 0.8, 0.9, 0.8, 0.5) == pytest.approx(0.065)
    # inside: s = 0.55, ratio 0.25 -> 0.04 + 0.5 * 0.75 * 0.1 = 0.0775
    assert update_variance_distance(0.04, 0.5, 0.55, 0.9, 0.8, 0.5) == pytest.approx(0.0775)
    # negative reward shrinks: 0.04 + 0.5 * 0.5 * (-0.1) = 0.015
    assert update_variance_distance(0.04, 0.5, 0.8, 0.7, 0.8, 0.5) == pytest.approx(0.015)


def test_moment_variance_update():
    # ((0.8-0.5)^2 - 0.04) / 0.04 = 1.25 -> 0.04 + 0.5 * 1.25 * 0.1 = 0.1025
    assert update_variance_moment(0.04, 0.5, 0.8, 0.9, 0.8, 0.5) == pytest.approx(0.1025)


def test_variance_is_clamped():
    assert update_variance(0.04, 0.5, 0.8, 0.9, 0.8, 0.5, "moment", 1e-4, 0.1) == 0.1
    assert update_variance(0.04, 0.5, 0.8, 0.0, 0.8, 10.0, "moment", 1e-4, 0.1) == 1e-4


def test_flip_bit():
    assert flip(0) == (1, "+")
    assert flip(1) == (0, "-")


def test_discrete_step_and_blocked_ends():
    p = Parameter("k", DISCRETE, 3, choices=(1, 3, 5))
    assert step_discrete(p, 3, "+") == (5, "+")
    assert step_discrete(p, 3, "-") == (1, "-")
    assert step_discrete(p, 5, "+") == (3, "-")  # blocked: turns into the other step
    assert step_discrete(p, 1, "-") == (3, "+")


def test_continuous_sample_is_mean_plus_minus_abs_gauss():
    x = abs(random.Random(7).gauss(0.0, 0.2))
    assert sample_continuous(0.5, 0.04, "+", random.Random(7)) == pytest.approx(0.5 + x)
    assert sample_continuous(0.5, 0.04, "-", random.Random(7)) == pytest.approx(0.5 - x)
    assert sample_continuous(0.99, 1.0, "+", random.Random(1)) <= 1.0


def test_unit_scale_log_and_linear():
    lr = Parameter("learning_rate", "continuous", 1e-3, 1e-5, 1e-1, log=True)
    assert lr.to_unit(1e-3) == pytest.approx(0.5)
    assert lr.from_unit(0.25) == pytest.approx(1e-4)
    dr = Parameter("dropout_rate", "continuous", 0.35, 0.0, 0.7)
    assert dr.to_unit(0.35) == pytest.approx(0.5)
    assert dr.from_unit(1.5) == pytest.approx(0.7)


@pytest.mark.parametrize(
    "macro,model",
    [
        ([1, 0, 0], 1),
        ([1, 1, 0], 2),
        ([1, 0, 1], 3),
        ([1, 1, 1], 4),
        ([0, 0, 0], 5),
        ([0, 1, 1], 8),
    ],
)
def test_model_numbers_follow_the_paper(macro, model):
    assert model_number(macro) == model
