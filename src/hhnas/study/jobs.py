"""The study's two jobs per dataset: the noise floor (retraining) and the surrogate benchmark.

Each is one function that a script adapter calls with paths and typed settings; what they
compute lives in hhnas.study.noise, .surrogate and .simulate.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np

from hhnas.config import StudyNoise, StudySurrogate, Training
from hhnas.io import read_json, write_json
from hhnas.records import Candidate, Evaluation, Params, TrainResult
from hhnas.search.space import space_from_config
from hhnas.study import noise as noise_floor
from hhnas.study.noise import NoiseFloor
from hhnas.study.simulate import Summary, Trace, experiment_seeds, run_searches, summary
from hhnas.study.surrogate import Fidelity, Surrogate, load_candidates


class QTableVariant(TypedDict):
    """A variant's Spearman rho per seed and its mean mutation frequency per feature."""

    rho: list[float]
    mean_frequency: dict[str, float]


class QTableAnalysis(TypedDict):
    """`qtable_analysis`: the surrogate's importances against the searches' mutations."""

    features: list[str]
    importance: dict[str, float]
    start: int
    variants: dict[str, QTableVariant]


class VariantRuns(TypedDict):
    """A variant's simulated searches at the study's fresh seeds and at the confirmatory
    runs' own seeds."""

    surrogate: Summary
    at_real_seeds: Summary


class SurrogateStudy(TypedDict):
    """The surrogate benchmark's file (`run_surrogate_study`)."""

    fidelity: Fidelity
    noise_sd: dict[str, float]
    seeds: list[int]
    real_seeds: list[int]
    iterations: int
    variants: dict[str, VariantRuns]
    qtable: QTableAnalysis


def _progress(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def run_noise_floor(
    metric_paths: Sequence[str],
    inputs: Mapping[str, str],
    training: Mapping[str, Any],
    settings: StudyNoise,
    out: str,
) -> NoiseFloor:
    """Retrain the chosen configurations of the confirmatory runs (hhnas.study.noise) on the
    dataset's features; writes and returns the noise floor's summary."""
    # Imported here: the surrogate job must not pay for torch.
    from hhnas.jobs.iteration import load_features
    from hhnas.training.candidate import train_candidate

    configs = noise_floor.choose_configurations(
        load_candidates(metric_paths), settings.best, settings.random, settings.seed
    )
    fs = load_features(dict(inputs), with_backbone=True)

    tc = Training.from_mapping(training)

    def train(macro: list[int], params: Params, seed: int) -> TrainResult:
        return train_candidate(macro, params, fs, tc, seed=seed)

    measured = noise_floor.measure(configs, train, settings.seeds, settings.seed, _progress)
    result: NoiseFloor = {
        "settings": {
            "best": settings.best,
            "random": settings.random,
            "seeds": settings.seeds,
            "seed": settings.seed,
        },
        **noise_floor.summarise(measured),
    }
    write_json(out, result)
    return result


def surrogate_evaluator(surrogate: Surrogate, seed: int):
    """Noise for iteration i comes from one generator seeded with (seed, i), drawn in the
    batch's seed order: every variant sees the same draws at the same seed and iteration."""

    def evaluate(iteration: int, candidates: list[Candidate]) -> list[Evaluation]:
        rng = np.random.default_rng([seed, iteration])
        return surrogate.sample(
            [c["macro"] for c in candidates], [c["params"] for c in candidates], rng
        )

    return evaluate


def mutation_frequencies(trace: Trace, names: Sequence[str], start: int) -> dict[str, float]:
    """How often each feature was mutated from iteration `start` on: what the Q-table's
    P(s) does to the search (a feature with a higher P(s) is mutated more often)."""
    recs = [r for r in trace.records if r["iteration"] >= start]
    if not recs:
        return dict.fromkeys(names, math.nan)
    return {n: sum(n in r["mutated"] for r in recs) / len(recs) for n in names}


def qtable_analysis(
    traces: Mapping[str, Sequence[Trace]], importances: Mapping[str, float], start: int
) -> QTableAnalysis:
    """Does the Q-table learn to mutate what matters? Per variant and seed, Spearman's rho
    between the surrogate's importance of each feature (known, since the surrogate is the
    objective here) and how often the search mutated it from iteration `start` on."""
    from scipy import stats

    names = list(importances)
    imp = [importances[n] for n in names]
    per: dict[str, QTableVariant] = {}
    for variant, ts in traces.items():
        rhos, freqs = [], []
        for t in ts:
            f = mutation_frequencies(t, names, start)
            vals = [f[n] for n in names]
            freqs.append(vals)
            rho = stats.spearmanr(imp, vals).statistic if np.ptp(vals) > 0 else math.nan
            rhos.append(float(rho))
        per[variant] = {
            "rho": rhos,
            "mean_frequency": dict(zip(names, np.mean(freqs, axis=0).tolist(), strict=True)),
        }
    return {"features": names, "importance": dict(importances), "start": start, "variants": per}


def run_surrogate_study(
    metric_paths: Sequence[str],
    noise_path: str,
    space_search: Mapping[str, Any],
    searches: Mapping[str, Mapping[str, Any]],
    learning: Sequence[str],
    settings: StudySurrogate,
    real_seed: int,
    real_experiments: int,
    iterations: int,
    out: str,
) -> SurrogateStudy:
    """Fit the surrogate on every candidate of the confirmatory runs (each configuration once),
    then run every variant against it: at `settings.seeds` fresh seeds, and at the confirmatory
    runs' own seeds (does the surrogate reproduce their order?)."""
    noise: NoiseFloor = read_json(noise_path)
    space = space_from_config(dict(space_search))
    candidates = load_candidates(metric_paths)
    # The noise of the best configurations, where the searches' results are decided.
    noise_sd = {k: noise_floor.top_sd(noise, k) / 100 for k in ("val", "test")}
    noise_sd = {k: 0.0 if math.isnan(v) else v for k, v in noise_sd.items()}
    _progress(f"fitting the surrogate on {len(candidates)} configurations")
    surrogate = Surrogate.fit(
        candidates,
        space,
        noise_sd,
        seed=settings.search_seed,
        folds=settings.folds,
        holdout=settings.holdout,
    )
    _progress(f"surrogate: {surrogate.fidelity['choice']}")
    seeds = experiment_seeds(settings.search_seed, settings.seeds)
    real = experiment_seeds(real_seed, real_experiments)
    variants: dict[str, VariantRuns] = {}
    learned: dict[str, list[Trace]] = {}
    for v, search in searches.items():
        traces = run_searches(
            search, seeds, iterations, surrogate_evaluator(surrogate, settings.search_seed)
        )
        at_real = run_searches(search, real, iterations, surrogate_evaluator(surrogate, real_seed))
        variants[v] = {"surrogate": summary(traces), "at_real_seeds": summary(at_real)}
        if v in learning:
            learned[v] = traces
        _progress(f"{v}: {len(seeds)} + {len(real)} simulated searches")
    importances = surrogate.importances(space, seed=settings.search_seed)
    result: SurrogateStudy = {
        "fidelity": surrogate.fidelity,
        "noise_sd": {k: v * 100.0 for k, v in noise_sd.items()},
        "seeds": seeds,
        "real_seeds": real,
        "iterations": iterations,
        "variants": variants,
        "qtable": qtable_analysis(learned, importances, start=iterations // 2),
    }
    write_json(out, result)
    return result
