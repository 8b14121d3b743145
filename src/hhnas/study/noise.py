"""The noise floor: how much one configuration's accuracy moves when only the training seed does.

Every candidate of a search is trained once, with one seed, so part of what separates two
candidates (and two search strategies) is the luck of that seed. The noise floor measures it:
the `best` configurations of the confirmatory runs (by validation accuracy) and `random` others
drawn among the rest are each retrained with `seeds` fresh training seeds. The sd of the
accuracy across those seeds, pooled over the configurations, is

* the surrogate's noise (hhnas.study.surrogate: a simulated evaluation is the surrogate's mean
  plus this sd times a normal draw), and
* a floor under what the study can see: with n experiments per variant, a difference in mean
  accuracy smaller than :func:`detectable_difference` of this sd cannot be told from retraining
  noise alone (a search's best-of-50 also varies with the path the search took, so the real
  floor is higher; the report gives both).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
from scipy import stats

from hhnas.records import Params, TrainResult

if TYPE_CHECKING:
    from hhnas.study.surrogate import Configuration

Kind = Literal["best", "random"]


class Chosen(TypedDict):
    """A configuration chosen for retraining, with the validation accuracy its search saw."""

    kind: Kind
    macro: list[int]
    params: Params
    model: int
    search_val_acc: float


class Retrained(Chosen):
    """A chosen configuration's accuracies (%) over the training seeds that did not fail."""

    val: list[float]
    test: list[float]
    failed: int


class NoiseRow(TypedDict):
    """A configuration's row of the noise floor (accuracies in %)."""

    kind: Kind
    model: int
    macro: list[int]
    params: Params
    search_val_acc: float
    n: int
    failed: int
    val_mean: float
    val_sd: float
    test_mean: float
    test_sd: float
    val: list[float]
    test: list[float]


class NoiseSummary(TypedDict):
    """`summarise`: the rows and the sds pooled over all, the best and the random
    configurations (NaN where fewer than two accuracies were measured)."""

    configurations: list[NoiseRow]
    val_sd: float
    val_sd_best: float
    val_sd_random: float
    test_sd: float
    test_sd_best: float
    test_sd_random: float


class NoiseSettings(TypedDict):
    """`study.noise` as the noise floor ran it."""

    best: int
    random: int
    seeds: int
    seed: int


class NoiseFloor(NoiseSummary):
    """The noise floor's file (hhnas.study.jobs.run_noise_floor): its settings, then the
    summary."""

    settings: NoiseSettings


def retrain_seed(seed: int, config_index: int, repeat: int) -> int:
    """A training seed drawn from SHA-256: a 32-bit value, not of the search's form
    (experiment seed x 100003 + iteration), so the retraining never replays a search's draw."""
    digest = hashlib.sha256(f"noise-floor:{seed}:{config_index}:{repeat}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def choose_configurations(
    candidates: Sequence[Configuration], best: int, n_random: int, seed: int
) -> list[Chosen]:
    """The `best` successful configurations by validation accuracy (ties: first seen), then
    `n_random` drawn uniformly without replacement among the other successful ones.

    `candidates` holds one record per distinct configuration (hhnas.study.surrogate
    .load_candidates): macro, params and val_acc (None when every evaluation failed).
    """
    ok = [c for c in candidates if c["val_acc"] is not None]
    order = sorted(range(len(ok)), key=lambda i: (-float(ok[i]["val_acc"]), i))
    top = order[:best]
    rest = sorted(order[best:])
    drawn = random.Random(seed).sample(rest, min(n_random, len(rest)))
    out: list[Chosen] = []
    for kind, picks in (("best", top), ("random", drawn)):
        for i in picks:
            c = ok[i]
            out.append(
                {
                    "kind": kind,
                    "macro": list(c["macro"]),
                    "params": dict(c["params"]),
                    "model": c["model"],
                    "search_val_acc": float(c["val_acc"]),
                }
            )
    return out


Trainer = Callable[[list[int], Params, int], TrainResult]


def measure(
    configurations: Sequence[Chosen],
    train: Trainer,
    seeds: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> list[Retrained]:
    """Retrain every configuration with `seeds` training seeds; `train(macro, params, seed)`
    returns a training result (status, val_acc, test_acc as fractions). Accuracies in %."""
    out: list[Retrained] = []
    for k, conf in enumerate(configurations):
        val, test, failed = [], [], 0
        for r in range(seeds):
            result = train(list(conf["macro"]), dict(conf["params"]), retrain_seed(seed, k, r))
            if result["status"] != "ok":
                failed += 1
                continue
            val.append(float(result["val_acc"]) * 100.0)
            test.append(float(result["test_acc"]) * 100.0)
        if progress is not None:
            progress(f"configuration {k + 1}/{len(configurations)} ({conf['kind']}) retrained")
        out.append({**conf, "val": val, "test": test, "failed": failed})
    return out


def _sd(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)): the within-configuration sd, each
    configuration weighted by its degrees of freedom (groups with fewer than 2 values add
    nothing)."""
    num = sum((len(g) - 1) * float(np.var(g, ddof=1)) for g in groups if len(g) > 1)
    den = sum(len(g) - 1 for g in groups if len(g) > 1)
    return math.sqrt(num / den) if den else math.nan


def detectable_difference(
    sd: float, n: int, alpha: float = 0.05, power: float = 0.8, paired_sd: bool = False
) -> float:
    """The smallest difference in mean accuracy that a two-sided t test at `alpha` detects
    with probability `power`, with n experiments per variant:
    (t_{1-alpha/2, df} + t_{power, df}) * se, with se = sd * sqrt(2 / n), df = 2 (n - 1) for two
    independent samples of per-experiment sd `sd`, or se = sd / sqrt(n), df = n - 1 when `sd`
    is already the sd of paired differences (`paired_sd`)."""
    if n < 2 or not sd >= 0:
        return math.nan
    if paired_sd:
        se, df = sd / math.sqrt(n), n - 1
    else:
        se, df = sd * math.sqrt(2.0 / n), 2 * (n - 1)
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se)


def summarise(measured: Sequence[Retrained]) -> NoiseSummary:
    """Per configuration its mean and sd; pooled sds overall and per kind (best, random)."""
    rows: list[NoiseRow] = []
    for m in measured:
        rows.append(
            {
                "kind": m["kind"],
                "model": m["model"],
                "macro": m["macro"],
                "params": m["params"],
                "search_val_acc": m["search_val_acc"] * 100.0,
                "n": len(m["val"]),
                "failed": m["failed"],
                "val_mean": float(np.mean(m["val"])) if m["val"] else math.nan,
                "val_sd": _sd(m["val"]),
                "test_mean": float(np.mean(m["test"])) if m["test"] else math.nan,
                "test_sd": _sd(m["test"]),
                "val": list(m["val"]),
                "test": list(m["test"]),
            }
        )

    def pooled(key: Literal["val", "test"], kind: Kind | None = None) -> float:
        return pooled_sd([m[key] for m in measured if kind is None or m["kind"] == kind])

    return {
        "configurations": rows,
        "val_sd": pooled("val"),
        "val_sd_best": pooled("val", "best"),
        "val_sd_random": pooled("val", "random"),
        "test_sd": pooled("test"),
        "test_sd_best": pooled("test", "best"),
        "test_sd_random": pooled("test", "random"),
    }


def top_sd(summary: NoiseSummary, key: str) -> float:
    """The noise that matters for a search's result (`key`: val or test, in points): the pooled
    sd of the best configurations, where a search's best-so-far is decided. The random ones
    can be far noisier (an unstable optimiser setting swings by tens of points between seeds)
    and would drown the top of the surrogate in noise no good candidate has; without best
    configurations, the sd pooled over all."""
    sd = summary[f"{key}_sd_best"]
    return float(summary[f"{key}_sd"]) if sd is None or math.isnan(sd) else float(sd)
