"""What the mirror holds, read from the files: study names, study attributes and trials.

An experiment's folder is ``<results>/<prefix>/search/<variant>/exp<N>/``, ``<prefix>`` being
the dataset (``spider``) or the study's ``study/<dataset>``; its study is named
``<prefix>/<variant>/exp<N>`` (``spider/hhnas/exp1``, ``study/spider/hhnas/exp1``). Iteration
``i`` is finished when ``state_<i>.json`` exists (the job writes its metrics first, its state
last); its trial is built from ``metrics_<i>.json`` alone, so a trial is the same whether the
job appended it or a later sync did.
"""

from __future__ import annotations

import datetime
import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from hhnas.io import read_json
from hhnas.records import Metrics
from hhnas.search.space import MACRO_BITS

STATE = re.compile(r"state_(\d+)\.json$")
EXPERIMENT = re.compile(r"exp(\d+)$")
# Error messages can be long tracebacks; the dashboard shows attributes in a table.
ERROR_CHARS = 300


@dataclass(frozen=True)
class ExperimentDir:
    """One experiment's folder and the study that mirrors it."""

    path: str
    shown: str  # the folder as a run names it, from its results folder: results/spider/...
    study: str
    dataset: str
    variant: str
    experiment: int
    confirmatory: bool  # under results/study/: the study's confirmatory runs


def experiment_dir(results: str | os.PathLike, path: str | os.PathLike) -> ExperimentDir:
    """Name the experiment folder ``path`` (``<results>/<prefix>/search/<variant>/exp<N>``)."""
    rel = os.path.relpath(os.fspath(path), os.fspath(results)).split(os.sep)
    m = EXPERIMENT.fullmatch(rel[-1]) if len(rel) >= 4 else None
    if m is None or rel[-3] != "search" or rel[0] in ("..", ""):
        raise ValueError(
            f"{path}: not an experiment folder <results>/<dataset>/search/<variant>/expN"
        )
    prefix = rel[:-3]
    return ExperimentDir(
        path=os.fspath(path),
        shown=os.path.join(os.path.basename(os.path.normpath(os.fspath(results))), *rel),
        study="/".join([*prefix, rel[-2], rel[-1]]),
        dataset=prefix[-1],
        variant=rel[-2],
        experiment=int(m.group(1)),
        confirmatory=len(prefix) == 2 and prefix[0] == "study",
    )


def experiment_dirs(results: str | os.PathLike) -> list[ExperimentDir]:
    """Every experiment folder under ``results`` with at least one finished iteration."""
    pattern = os.path.join(glob.escape(os.fspath(results)), "**", "search", "*", "exp*")
    found = {
        os.path.dirname(p)
        for d in glob.glob(pattern, recursive=True)
        for p in glob.glob(os.path.join(glob.escape(d), "state_*.json"))
    }
    return sorted((experiment_dir(results, d) for d in found), key=lambda e: e.study)


def finished_iterations(path: str | os.PathLike) -> list[int]:
    """Iterations 0..k whose state files exist, stopping at the first gap (a later state
    without its predecessor belongs to no chain this run made)."""
    have = set()
    for name in os.listdir(path):
        m = STATE.fullmatch(name)
        if m:
            have.add(int(m.group(1)))
    out = []
    while len(out) in have:
        out.append(len(out))
    return out


def study_attrs(exp: ExperimentDir, metrics: Metrics, seed: int) -> dict[str, Any]:
    return {
        "dataset": exp.dataset,
        "variant": exp.variant,
        "strategy": metrics["strategy"],
        "experiment": exp.experiment,
        "seed": seed,
        "confirmatory": exp.confirmatory,
    }


def state_seed(path: str | os.PathLike) -> int:
    """The search's seed, as its state file records it."""
    return int(read_json(path)["state"]["seed"])


def trial_params(
    metrics: Mapping[str, Any], distributions: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """The candidate's searched features (macro bits first), as the distributions name them."""
    out = {}
    for name in distributions:
        if name in MACRO_BITS:
            out[name] = int(metrics["macro"][MACRO_BITS.index(name)])
        else:
            out[name] = metrics["params"][name]
    return out


def metrics_trial(
    metrics: Metrics,
    distributions: Mapping[str, BaseDistribution],
    metrics_path: str,
    state_path: str,
    finished: float,
) -> FrozenTrial:
    """The trial of one finished iteration (the paths as the run names them). ``finished``: the
    metrics file's mtime (the job's end); the start is that minus the job's seconds. Raises
    ValueError when a parameter lies outside its distribution (a folder made with another
    config)."""
    ok = metrics["status"] == "ok"
    complete = datetime.datetime.fromtimestamp(finished)
    error = metrics.get("error")
    attrs = {
        "iteration": metrics["iteration"],
        "status": metrics["status"],
        "model": metrics["model"],
        "macro": list(metrics["macro"]),
        "val_acc": metrics["val_acc"],
        "test_acc": metrics["test_acc"],
        "n_params": metrics["n_params"],
        "seconds": metrics.get("seconds"),
        "job_seconds": metrics["job_seconds"],
        "mutated": list(metrics["mutated"]),
        "error_class": metrics.get("error_class"),
        "error": error[:ERROR_CHARS] if error else None,
        "state_file": state_path,
        "metrics_file": metrics_path,
    }
    trial = create_trial(
        state=TrialState.COMPLETE if ok else TrialState.FAIL,
        value=metrics["objective"] if ok else None,
        params=trial_params(metrics, distributions),
        distributions=dict(distributions),
        user_attrs=attrs,
    )
    trial.datetime_start = complete - datetime.timedelta(seconds=float(metrics["job_seconds"]))
    trial.datetime_complete = complete
    return trial


def iteration_trial(
    exp: ExperimentDir, iteration: int, distributions: Mapping[str, BaseDistribution]
) -> FrozenTrial:
    """The trial of iteration ``iteration`` of ``exp``, from its files."""
    metrics_path = os.path.join(exp.path, f"metrics_{iteration}.json")
    metrics = read_json(metrics_path)
    if metrics.get("iteration") != iteration:
        raise ValueError(f"{metrics_path}: names iteration {metrics.get('iteration')}")
    return metrics_trial(
        metrics,
        distributions,
        os.path.join(exp.shown, f"metrics_{iteration}.json"),
        os.path.join(exp.shown, f"state_{iteration}.json"),
        os.stat(metrics_path).st_mtime,
    )


def same_trial(a: FrozenTrial, b: FrozenTrial) -> bool:
    """Two trials hold the same candidate and outcome (what the mirror promises to match)."""
    return (
        a.state == b.state
        and a.value == b.value
        and a.params == b.params
        and a.distributions == b.distributions
        and a.user_attrs == b.user_attrs
    )
