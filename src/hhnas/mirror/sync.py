"""Bring the journal's studies up to date with the experiment folders.

A study is in sync when its trials are the folder's finished iterations 0..k, in order, each
the same as its files say (:func:`hhnas.mirror.trials.same_trial`). Syncing appends what is
missing; a study that holds anything else (a folder deleted and run again with other
settings, a job's append repeated after a kill) is deleted and written again. Either way a
second sync changes nothing. The whole read-compare-write of a study holds the journal's lock,
so two jobs, or a job and ``python -m hhnas.mirror sync``, never append the same trial twice
nor lose one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from optuna.distributions import BaseDistribution
from optuna.storages import JournalStorage
from optuna.study import StudyDirection

from hhnas.io import read_json
from hhnas.mirror.journal import journal_path, open_storage
from hhnas.mirror.lock import FlockLock
from hhnas.mirror.trials import (
    ExperimentDir,
    experiment_dir,
    experiment_dirs,
    finished_iterations,
    iteration_trial,
    same_trial,
    state_seed,
    study_attrs,
)

Distributions = Mapping[str, BaseDistribution]
# Optuna's own key for Study.set_metric_names, which optuna-dashboard shows on its axes: a
# trial's value is the search's reward (the validation accuracy unless search.reward says so).
METRIC_NAMES = "study:metric_names"
VALUE_NAME = "reward"


@dataclass
class SyncReport:
    """What a sync did: trials appended, studies written again or deleted, folders skipped
    (study name -> why)."""

    appended: int = 0
    rewritten: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    studies: int = 0


def _study_id(storage: JournalStorage, name: str) -> int | None:
    try:
        return storage.get_study_id_from_name(name)
    except KeyError:
        return None


def _expected_attrs(exp: ExperimentDir) -> dict:
    metrics = read_json(os.path.join(exp.path, "metrics_0.json"))
    return study_attrs(exp, metrics, state_seed(os.path.join(exp.path, "state_0.json")))


def sync_study(
    storage: JournalStorage,
    exp: ExperimentDir,
    distributions: Distributions,
    check_from: int = 0,
) -> tuple[int, bool]:
    """Make the study of ``exp`` hold its finished iterations; return (trials appended,
    whether the study was written again). Stored trials before iteration ``check_from`` are
    compared by iteration number only (a job checks its own iteration; a full sync checks
    everything). The caller holds the journal's lock."""
    iterations = finished_iterations(exp.path)
    study_id = _study_id(storage, exp.study)
    stored = [] if study_id is None else storage.get_all_trials(study_id, deepcopy=False)
    in_order = len(stored) <= len(iterations) and all(
        t.user_attrs.get("iteration") == i for i, t in enumerate(stored)
    )
    rewrite = study_id is not None and not (
        in_order
        and all(
            same_trial(t, iteration_trial(exp, i, distributions))
            for i, t in enumerate(stored)
            if i >= check_from
        )
    )
    if rewrite:
        storage.delete_study(study_id)
        study_id, stored = None, []
    if study_id is None:
        if not iterations:
            return 0, rewrite
        study_id = storage.create_new_study([StudyDirection.MAXIMIZE], exp.study)
    have = storage.get_study_user_attrs(study_id)
    if check_from == 0 or not have:
        for key, value in _expected_attrs(exp).items():
            if have.get(key) != value:
                storage.set_study_user_attr(study_id, key, value)
        if storage.get_study_system_attrs(study_id).get(METRIC_NAMES) != [VALUE_NAME]:
            storage.set_study_system_attr(study_id, METRIC_NAMES, [VALUE_NAME])
    for i in iterations[len(stored) :]:
        storage.create_new_trial(study_id, template_trial=iteration_trial(exp, i, distributions))
    return len(iterations) - len(stored), rewrite


def sync_experiment(
    results: str, exp_path: str, distributions: Distributions, iteration: int
) -> int:
    """A search iteration job's part, after its state file is written: bring its own
    experiment's study up to date (normally: append this iteration's trial)."""
    path = journal_path(results)
    exp = experiment_dir(results, exp_path)
    storage = open_storage(path)
    with FlockLock(path):
        appended, _ = sync_study(storage, exp, distributions, check_from=iteration)
    return appended


def _open_or_replace(path: str, log: Callable[[str], None]) -> JournalStorage:
    """Open the journal; one that Optuna cannot read is moved aside and started again (the
    files hold everything it held)."""
    try:
        return open_storage(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable journal is rebuilt the same way
        aside = f"{path}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}"
        os.replace(path, aside)
        log(f"{path}: unreadable ({type(exc).__name__}: {exc}); moved to {aside}, rebuilding")
        return open_storage(path)


def sync_all(
    results: str | os.PathLike,
    distributions_for: Callable[[ExperimentDir], Distributions | None],
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> SyncReport:
    """Make the journal of ``results`` equal to its experiment folders: every finished
    iteration a trial, no study without a folder. ``distributions_for`` gives a folder's search
    space, or None for one the config does not know (skipped, with the reason)."""
    results = os.fspath(results)
    path = journal_path(results)
    report = SyncReport()
    exps = experiment_dirs(results)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with FlockLock(path):
        storage = _open_or_replace(path, log)
        names = {e.study for e in exps}
        for study in storage.get_all_studies():
            if study.study_name not in names:
                storage.delete_study(storage.get_study_id_from_name(study.study_name))
                report.deleted.append(study.study_name)
        for exp in exps:
            dists = distributions_for(exp)
            if dists is None:
                report.skipped[exp.study] = (
                    f"{exp.path}: the config has no search for dataset {exp.dataset!r}, "
                    f"variant {exp.variant!r}; pass the --configfile it was run with"
                )
                continue
            try:
                appended, rewritten = sync_study(storage, exp, dists)
            except ValueError as exc:
                report.skipped[exp.study] = (
                    f"{exp.path}: {exc}; it was made with another config: pass the "
                    "--configfile it was run with"
                )
                study_id = _study_id(storage, exp.study)
                if study_id is not None:
                    storage.delete_study(study_id)
                continue
            report.appended += appended
            report.studies += 1
            if rewritten:
                report.rewritten.append(exp.study)
    return report
