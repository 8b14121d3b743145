"""Running mean and variance rules for continuous parameters (paper: "Mean and Variance Update").

All values are in the parameter's normalised unit scale (hhnas.config.sections.Parameter.to_unit).
"""

from __future__ import annotations

import math


def update_mean(mu: float, s: float, acc: float, avg_acc: float, k: float, form: str) -> float:
    """mu_new = mu_old + k * (p_i - p_hat_i), optionally signed by the side of the sample.

    `literal` is the printed formula. `signed` multiplies by sign(s - mu), which is what the
    paper's prose says: a better-than-average sample above the mean pulls the mean up, one below
    pulls it down; without the sign every good candidate would push every mean upwards.
    """
    delta = k * (acc - avg_acc)
    if form == "literal":
        return mu + delta
    if form == "signed":
        return mu + math.copysign(1.0, s - mu) * delta if s != mu else mu
    raise ValueError(f"search.mean_update must be 'signed' or 'literal', got {form!r}")


def update_variance_distance(
    var: float, mu: float, s: float, acc: float, avg_acc: float, k: float
) -> float:
    """Distance-based form: outside (mu-sigma, mu+sigma): var + k(|s-mu|/sigma - 1)(p - p_hat);
    inside: var + k(1 - |s-mu|/sigma)(p - p_hat)."""
    z = abs(s - mu) / math.sqrt(var)
    factor = (z - 1.0) if z >= 1.0 else (1.0 - z)
    return var + k * factor * (acc - avg_acc)


def update_variance_moment(
    var: float, mu: float, s: float, acc: float, avg_acc: float, k: float
) -> float:
    """Moment-based form: var + k * ((s-mu)^2 - var) / var * (p - p_hat)."""
    return var + k * ((s - mu) ** 2 - var) / var * (acc - avg_acc)


def update_variance(
    var: float,
    mu: float,
    s: float,
    acc: float,
    avg_acc: float,
    k: float,
    form: str,
    var_min: float,
    var_max: float,
) -> float:
    """One of the paper's two variance rules, then clamped to [var_min, var_max] (a variance
    must stay positive for sampling and for the divisions in both rules)."""
    if form == "distance":
        new = update_variance_distance(var, mu, s, acc, avg_acc, k)
    elif form == "moment":
        new = update_variance_moment(var, mu, s, acc, avg_acc, k)
    else:
        raise ValueError(f"search.variance_update must be 'distance' or 'moment', got {form!r}")
    return min(var_max, max(var_min, new))
