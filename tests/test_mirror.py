"""The Optuna mirror (hhnas.mirror): names, trials, sync, a real kill mid-append, concurrent
writers. Hand-made experiment folders; the workflow's own run is in tests/test_workflow.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from hhnas.mirror.journal import drop_partial_tail, journal_path, open_storage
from hhnas.mirror.lock import FlockLock
from hhnas.mirror.sync import sync_all, sync_experiment
from hhnas.mirror.trials import (
    experiment_dir,
    finished_iterations,
    iteration_trial,
)
from hhnas.search.optuna_tpe import optuna_distributions
from hhnas.search.space import space_from_config

ROOT = Path(__file__).resolve().parent.parent
DISTS = {
    "p2": CategoricalDistribution([0, 1]),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "layer_size1": CategoricalDistribution([128, 256, 512]),
}


def metrics(iteration: int, ok: bool = True, variant: str = "hhnas", exp: int = 1) -> dict:
    """A metrics file as hhnas.jobs.iteration writes it (the keys the mirror reads)."""
    return {
        "version": 1,
        "variant": variant,
        "strategy": variant,
        "dataset": "spider",
        "experiment": exp,
        "iteration": iteration,
        "model": 2 if iteration % 2 else 1,
        "macro": [1, iteration % 2, 0],
        "params": {"learning_rate": 0.001 * (iteration + 1), "layer_size1": 256},
        "mutated": ["p2"] if iteration else [],
        "status": "ok" if ok else "failed",
        "error": None if ok else "RuntimeError: shapes do not match " + "x" * 400,
        "error_class": None if ok else "RuntimeError",
        "val_acc": 0.5 + iteration / 100 if ok else 0.0,
        "test_acc": 0.4 + iteration / 100 if ok else None,
        "best_epoch": 2 if ok else None,
        "n_params": 1000 + iteration if ok else None,
        "epochs": [],
        "seconds": 1.5,
        "objective": 0.5 + iteration / 100 if ok else 0.0,
        "cost": None,
        "job_seconds": 2.25,
    }


def write_iteration(where: Path, i: int, seed: int = 1001, **kw) -> None:
    where.mkdir(parents=True, exist_ok=True)
    (where / f"metrics_{i}.json").write_text(json.dumps(metrics(i, **kw)))
    (where / f"state_{i}.json").write_text(json.dumps({"state": {"seed": seed, "iteration": i}}))


def make_results(tmp_path: Path, n: int = 3, failed: int | None = None) -> Path:
    results = tmp_path / "results"
    for exp in (1, 2):
        for i in range(n):
            write_iteration(
                results / f"spider/search/hhnas/exp{exp}",
                i,
                seed=1000 + exp,
                ok=i != failed,
                exp=exp,
            )
    return results


def contents(results: Path) -> dict:
    """Every study's attributes and trials as plain data (ids and datetimes left out)."""
    storage = open_storage(journal_path(results))
    out = {}
    for s in storage.get_all_studies():
        sid = storage.get_study_id_from_name(s.study_name)
        out[s.study_name] = (
            s.user_attrs,
            [
                (t.number, t.state.name, t.value, t.params, t.user_attrs)
                for t in storage.get_all_trials(sid)
            ],
        )
    return out


def lookup(exp):
    return DISTS


# -- names and trials ---------------------------------------------------------------------


def test_study_names_follow_the_folders(tmp_path):
    r = tmp_path / "results"
    e = experiment_dir(r, r / "spider/search/hhnas/exp3")
    assert (e.study, e.dataset, e.variant, e.experiment, e.confirmatory) == (
        "spider/hhnas/exp3",
        "spider",
        "hhnas",
        3,
        False,
    )
    s = experiment_dir(r, r / "study/clinc150/search/random-mutation/exp12")
    assert (s.study, s.dataset, s.confirmatory) == (
        "study/clinc150/random-mutation/exp12",
        "clinc150",
        True,
    )
    for bad in ("spider/hhnas/exp1", "spider/search/hhnas/run1", "../x/search/hhnas/exp1"):
        with pytest.raises(ValueError, match="not an experiment folder"):
            experiment_dir(r, r / bad)


def test_finished_iterations_stop_at_the_first_gap(tmp_path):
    where = tmp_path / "exp1"
    for i in (0, 1, 3):
        write_iteration(where, i)
    (where / "metrics_2.json").write_text("{}")  # killed before its state: not finished
    assert finished_iterations(where) == [0, 1]


def test_a_trial_is_its_metrics_file(tmp_path):
    results = make_results(tmp_path, n=2, failed=1)
    exp = experiment_dir(results, results / "spider/search/hhnas/exp1")
    ok, failed = iteration_trial(exp, 0, DISTS), iteration_trial(exp, 1, DISTS)
    assert ok.state == TrialState.COMPLETE and ok.value == 0.5
    assert ok.params == {"p2": 0, "learning_rate": 0.001, "layer_size1": 256}
    assert ok.distributions == DISTS
    attrs = ok.user_attrs
    assert (attrs["iteration"], attrs["model"], attrs["val_acc"], attrs["test_acc"]) == (
        0,
        1,
        0.5,
        0.4,
    )
    assert (attrs["n_params"], attrs["seconds"], attrs["job_seconds"]) == (1000, 1.5, 2.25)
    assert attrs["metrics_file"] == "results/spider/search/hhnas/exp1/metrics_0.json"
    assert attrs["state_file"] == "results/spider/search/hhnas/exp1/state_0.json"
    # the job's span: it ended when the metrics file was written, job_seconds before that
    assert (ok.datetime_complete - ok.datetime_start).total_seconds() == 2.25
    assert failed.state == TrialState.FAIL and failed.value is None
    assert failed.params["p2"] == 1 and failed.user_attrs["error_class"] == "RuntimeError"
    assert len(failed.user_attrs["error"]) == 300


def test_a_parameter_outside_the_space_is_refused(tmp_path):
    results = make_results(tmp_path, n=1)
    narrow = {**DISTS, "layer_size1": CategoricalDistribution([64])}
    exp = experiment_dir(results, results / "spider/search/hhnas/exp1")
    with pytest.raises(ValueError):
        iteration_trial(exp, 0, narrow)


def test_the_config_s_space_gives_macro_bits_and_parameters(config):
    dists = optuna_distributions(space_from_config(config["search"]))
    assert dists["p2"] == dists["p3"] == CategoricalDistribution([0, 1])
    assert "p1" not in dists  # fixed to 1 by default: not searched
    assert dists["learning_rate"].log


# -- sync ---------------------------------------------------------------------------------


def test_sync_mirrors_every_finished_iteration_and_is_idempotent(tmp_path):
    results = make_results(tmp_path, n=3, failed=2)
    first = sync_all(results, lookup)
    assert (first.studies, first.appended, first.rewritten, first.deleted) == (2, 6, [], [])
    got = contents(results)
    assert sorted(got) == ["spider/hhnas/exp1", "spider/hhnas/exp2"]
    attrs, trials = got["spider/hhnas/exp2"]
    assert attrs == {
        "dataset": "spider",
        "variant": "hhnas",
        "strategy": "hhnas",
        "experiment": 2,
        "seed": 1002,
        "confirmatory": False,
    }
    sid = open_storage(journal_path(results)).get_study_id_from_name("spider/hhnas/exp2")
    system = open_storage(journal_path(results)).get_study_system_attrs(sid)
    assert system["study:metric_names"] == ["reward"]  # the dashboard's axis label
    assert [(n, s, v) for n, s, v, _, _ in trials] == [
        (0, "COMPLETE", 0.5),
        (1, "COMPLETE", 0.51),
        (2, "FAIL", None),
    ]
    size = os.path.getsize(journal_path(results))
    again = sync_all(results, lookup)
    assert (again.appended, again.rewritten, again.deleted) == (0, [], [])
    assert os.path.getsize(journal_path(results)) == size  # nothing written at all
    assert contents(results) == got


def test_sync_repairs_duplicates_and_drops_studies_without_a_folder(tmp_path):
    results = make_results(tmp_path, n=2)
    sync_all(results, lookup)
    expected = contents(results)
    storage = open_storage(journal_path(results))
    sid = storage.get_study_id_from_name("spider/hhnas/exp1")
    exp = experiment_dir(results, results / "spider/search/hhnas/exp1")
    # what a job killed after its append and then run again would have done without the check
    storage.create_new_trial(sid, template_trial=iteration_trial(exp, 1, DISTS))
    write_iteration(results / "spider/search/gone/exp1", 0)
    report = sync_all(results, lookup)
    assert report.rewritten == ["spider/hhnas/exp1"] and report.deleted == []
    (results / "spider/search/gone/exp1/state_0.json").unlink()
    report = sync_all(results, lookup)
    assert report.rewritten == [] and report.deleted == ["spider/gone/exp1"]
    assert contents(results) == expected


def test_a_folder_the_config_does_not_know_is_skipped_and_kept(tmp_path):
    results = make_results(tmp_path, n=1)
    sync_all(results, lookup)
    report = sync_all(results, lambda exp: None if exp.experiment == 2 else DISTS)
    assert list(report.skipped) == ["spider/hhnas/exp2"]
    assert "--configfile" in report.skipped["spider/hhnas/exp2"]
    assert "spider/hhnas/exp2" in contents(results)


def test_a_job_appends_its_iteration_and_a_rerun_job_appends_nothing(tmp_path):
    results = make_results(tmp_path, n=3)
    where = str(results / "spider/search/hhnas/exp1")
    assert sync_experiment(str(results), where, DISTS, 0) == 3  # study new: all finished ones
    assert sync_experiment(str(results), where, DISTS, 2) == 0
    write_iteration(Path(where), 3)
    assert sync_experiment(str(results), where, DISTS, 3) == 1
    _, trials = contents(results)["spider/hhnas/exp1"]
    assert [t[4]["iteration"] for t in trials] == [0, 1, 2, 3]


def test_an_unreadable_journal_is_moved_aside_and_rebuilt(tmp_path):
    results = make_results(tmp_path, n=2)
    sync_all(results, lookup)
    expected = contents(results)
    path = journal_path(results)
    with open(path, "ab") as fh:
        fh.write(b"not json\n{}\n")
    report = sync_all(results, lookup)
    assert report.appended == 4
    assert contents(results) == expected
    assert len(list(Path(path).parent.glob("journal.log.unreadable-*"))) == 1


# -- kills and concurrent writers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cut"),
    [(b"", 0), (b'{"a":1}\n', 0), (b'{"a":1}\n{"b"', 4), (b'{"b"', 4), (b"x" * 70000, 70000)],
)
def test_a_partial_last_line_is_cut(tmp_path, data, cut):
    path = tmp_path / "journal.log"
    path.write_bytes(data)
    assert drop_partial_tail(path) == cut
    assert path.read_bytes() == data[: len(data) - cut]


def test_the_lock_is_re_entrant_and_released(tmp_path):
    a, b = FlockLock(tmp_path / "j"), FlockLock(tmp_path / "j")
    with a, b:  # a second lock object on the same journal shares the descriptor
        assert FlockLock._held[a.path][1] == 2
    assert a.path not in FlockLock._held
    with pytest.raises(RuntimeError, match="not held"):
        a.release()


# What both subprocess scripts start with: their arguments, and DISTS as the parent has it.
PROLOGUE = textwrap.dedent(
    """
    import sys
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    results, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dists = {
        "p2": CategoricalDistribution([0, 1]),
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "layer_size1": CategoricalDistribution([128, 256, 512]),
    }
    """
)

KILLER = PROLOGUE + textwrap.dedent(
    """
    import os, signal
    from optuna.storages.journal import _file
    from hhnas.mirror.sync import sync_experiment

    for i in range(n):
        sync_experiment(results, where, dists, i)
    # iteration n finishes (a copy of the last one), and the job appends it
    import json
    for kind in ("metrics", "state"):
        doc = json.load(open(f"{where}/{kind}_{n - 1}.json"))
        (doc if kind == "metrics" else doc["state"])["iteration"] = n
        json.dump(doc, open(f"{where}/{kind}_{n}.json", "w"))

    class HalfThenDie:
        # Optuna's append, cut by SIGKILL half-way through its write.
        def __init__(self, fh):
            self.fh = fh
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)
        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            os.fsync(self.fh.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

    _file.open = lambda p, mode: HalfThenDie(open(p, mode)) if mode == "ab" else open(p, mode)
    sync_experiment(results, where, dists, n)
    """
)


def test_a_job_killed_mid_append_leaves_a_journal_with_every_earlier_trial(tmp_path):
    results = make_results(tmp_path, n=3)
    where = results / "spider/search/hhnas/exp1"
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(results), str(where), "3"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path = journal_path(results)
    raw = Path(path).read_bytes()
    assert not raw.endswith(b"\n")  # the kill did land inside the append
    _, trials = contents(results)["spider/hhnas/exp1"]
    assert [t[4]["iteration"] for t in trials] == [0, 1, 2]
    # the flock died with its holder: the next job neither waits nor trips on the cut line
    assert sync_experiment(str(results), str(where), DISTS, 3) == 1
    assert Path(path).read_bytes().startswith(raw[: raw.rfind(b"\n") + 1])
    sync_all(results, lookup)
    fresh = tmp_path / "fresh"
    (fresh / "results").mkdir(parents=True)
    os.symlink(results / "spider", fresh / "results" / "spider")
    sync_all(fresh / "results", lookup)
    assert contents(results) == contents(fresh / "results")


WRITER = PROLOGUE + textwrap.dedent(
    """
    from hhnas.mirror.sync import sync_all, sync_experiment

    if where == "all":
        for _ in range(n):
            sync_all(results, lambda exp: dists)
    else:
        for i in range(n):
            sync_experiment(results, where, dists, i)
    """
)


def test_concurrent_writers_never_lose_or_repeat_a_trial(tmp_path):
    results = tmp_path / "results"
    n = 25
    folders = [results / f"spider/search/v{k}/exp1" for k in range(4)]
    for where in folders:
        for i in range(n):
            write_iteration(where, i)
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(results), str(w), str(n)])
        for w in folders
    ]
    # two full syncs race the jobs, on the same studies
    procs += [
        subprocess.Popen([sys.executable, "-c", WRITER, str(results), "all", "3"]) for _ in range(2)
    ]
    assert [p.wait() for p in procs] == [0] * len(procs)
    got = contents(results)
    assert sorted(got) == [f"spider/v{k}/exp1" for k in range(4)]
    for _, trials in got.values():
        assert [(t[0], t[4]["iteration"]) for t in trials] == [(i, i) for i in range(n)]


def test_a_running_dashboard_shows_trials_as_jobs_append_them(tmp_path):
    """optuna-dashboard on the journal, in a thread: a job's append shows on the next request."""
    import threading
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import optuna_dashboard

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    results = make_results(tmp_path, n=2)
    where = results / "spider/search/hhnas/exp1"
    sync_all(results, lookup)
    storage = open_storage(journal_path(results))
    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(storage), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sid = storage.get_study_id_from_name("spider/hhnas/exp1")
    url = f"http://127.0.0.1:{server.server_port}/api/studies/{sid}?after=0"

    def numbers() -> list[int]:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return [t["number"] for t in json.load(resp)["trials"]]

    try:
        assert numbers() == [0, 1]
        write_iteration(where, 2)
        # another process, as a job would be
        subprocess.run(
            [sys.executable, "-c", WRITER, str(results), str(where), "3"], check=True, timeout=60
        )
        # the dashboard caches a study's trials for 2 s (up to 10 s for 500 or more trials)
        deadline = time.time() + 15
        while numbers() != [0, 1, 2] and time.time() < deadline:
            time.sleep(0.5)
        assert numbers() == [0, 1, 2]
    finally:
        server.shutdown()
        server.server_close()
