"""One search iteration as steps (hhnas.jobs.iteration), called without a workflow."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from hhnas.config.job import JobConfig
from hhnas.jobs import JOBS, search_iteration
from hhnas.jobs import iteration as it
from hhnas.jobs.log import TIMING_PREFIX, read_timing
from hhnas.search.state import load_state

N_CLASSES, PER_CLASS = 3, 20


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    """A separable 3-class dataset with every cached feature the frozen mode reads."""
    rng = np.random.default_rng(0)
    n = N_CLASSES * PER_CLASS
    labels = [i % N_CLASSES for i in range(n)]
    splits = ["train", "train", "train", "val", "test"] * (n // 5)
    rows = tmp_path / "dataset.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"q{i}", "label": y, "split": s}) + "\n"
            for i, (y, s) in enumerate(zip(labels, splits, strict=True))
        )
    )
    classes = tmp_path / "classes.json"
    names = [f"db{c}" for c in range(N_CLASSES)]
    classes.write_text(json.dumps({"classes": names, "schemas": [None] * N_CLASSES}))
    onehot = np.eye(N_CLASSES, dtype=np.float32)[labels]
    arrays = {
        "backbone": onehot @ rng.normal(size=(N_CLASSES, 8)).astype(np.float32),
        "llm": np.stack([onehot, onehot], axis=1),
        "linking": np.stack([onehot] * 7, axis=1),
    }
    out = {"rows": str(rows), "classes": str(classes)}
    for name, arr in arrays.items():
        arr = (arr + 0.1 * rng.normal(size=arr.shape)).astype(np.float32)
        np.save(tmp_path / f"{name}.npy", arr)
        out[name] = str(tmp_path / f"{name}.npy")
    return out


@pytest.fixture
def cfg(config) -> dict:
    config["training"].update(epochs=2, batch_size=16, cnn_filters=2)
    return config


def _job(cfg, files, tmp_path, iteration: int, **extra) -> it.IterationJob:
    where = tmp_path / "exp1"
    return it.IterationJob(
        config=JobConfig.from_mapping(cfg),
        dataset="spider",
        experiment=1,
        iteration=iteration,
        prev_state=str(where / f"state_{iteration - 1}.json") if iteration else None,
        inputs=files,
        out_state=str(where / f"state_{iteration}.json"),
        out_metrics=str(where / f"metrics_{iteration}.json"),
        variant="hhnas",
        **extra,
    )


def test_seeds_by_hand(cfg):
    cfg["search"]["seed"] = 2
    search = JobConfig.from_mapping(cfg).search
    assert it.experiment_seed(search, 3) == 2003
    assert it.training_seed(search, 3, 7) == 2003 * 100_003 + 7


def test_the_payload_round_trips_and_names_the_job(cfg, files, tmp_path):
    job = _job(cfg, files, tmp_path, 1, log=str(tmp_path / "it.log"))
    payload = json.loads(json.dumps(job.to_payload()))
    payload["experiment"], payload["iteration"] = "1", "1"  # wildcards arrive as strings
    assert it.IterationJob.from_payload(payload) == job
    assert JOBS["search_iteration"] == "hhnas.jobs:search_iteration"


def test_iteration_zero_starts_from_the_config_and_later_ones_need_a_state(cfg, files, tmp_path):
    job0 = _job(cfg, files, tmp_path, 0)
    strategy = it.make_job_strategy(job0)
    ident = it.state_identity(job0, strategy)
    assert ident["strategy"] == "hhnas" and ident["experiment"] == 1
    state = it.start_state(job0, strategy, ident)
    candidate, _ = it.propose(strategy, state, 0)
    # Iteration 0 is the configured initial candidate: Model 1 with the initial parameters.
    assert candidate["macro"] == [1, 0, 0] and candidate["params"]["layer_size1"] == 256
    with pytest.raises(RuntimeError, match="proposes iteration 0, not 5"):
        it.propose(strategy, it.start_state(job0, strategy, ident), 5)
    orphan = it.IterationJob.from_payload({**job0.to_payload(), "iteration": 1, "prev_state": None})
    with pytest.raises(ValueError, match="needs the state of iteration 0"):
        it.start_state(orphan, strategy, ident)


def test_load_features_standardises_on_train_rows(files):
    fs = it.load_features(files, with_backbone=True)
    assert fs.n_classes == N_CLASSES
    train = fs.backbone["train"].numpy()
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    assert len(fs.rows["val"]) == len(fs.rows["test"]) == PER_CLASS * N_CLASSES // 5
    assert it.load_features(files, with_backbone=False).backbone == {}


def test_metrics_record_keeps_the_file_s_key_order(cfg, files, tmp_path):
    job = _job(cfg, files, tmp_path, 0)
    strategy = it.make_job_strategy(job)
    candidate = {"model": 1, "macro": [1, 0, 0], "params": {"a": 1}, "mutated": ["b", "a"]}
    record = it.metrics_record(
        job, strategy, candidate, {"status": "ok", "val_acc": 0.5}, {"objective": 0.5}, 1.23456
    )
    assert list(record) == [
        "version",
        "variant",
        "strategy",
        "dataset",
        "experiment",
        "iteration",
        "model",
        "macro",
        "params",
        "mutated",
        "status",
        "val_acc",
        "objective",
        "job_seconds",
    ]
    assert record["mutated"] == ["a", "b"] and record["job_seconds"] == 1.235


def test_two_iterations_chain_through_their_state_files(cfg, files, tmp_path):
    first = it.run_iteration(_job(cfg, files, tmp_path, 0))
    assert first["status"] == "ok" and 0 < first["val_acc"] <= 1
    job1 = _job(cfg, files, tmp_path, 1)
    second = it.run_iteration(job1)
    assert second["iteration"] == 1
    strategy = it.make_job_strategy(job1)
    state = load_state(job1.out_state, iteration=1, **it.state_identity(job1, strategy))
    assert len(state["history"]) == 2
    assert json.loads(Path(job1.out_metrics).read_text())["val_acc"] == second["val_acc"]


def test_the_same_iteration_twice_gives_the_same_files_but_timings(cfg, files, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for where in (a, b):
        where.mkdir()
        it.run_iteration(_job(cfg, files, where, 0))
    docs = []
    for where in (a, b):
        doc = json.loads((where / "exp1" / "metrics_0.json").read_text())
        for key in ("seconds", "job_seconds"):
            doc.pop(key)
        for epoch in doc["epochs"]:
            epoch.pop("seconds"), epoch.pop("train_seconds")
        docs.append(doc)
    assert docs[0] == docs[1]
    assert (a / "exp1" / "state_0.json").read_bytes() == (b / "exp1" / "state_0.json").read_bytes()


def test_the_registered_job_logs_its_output_and_timing(cfg, files, tmp_path):
    log = tmp_path / "logs" / "iteration_0.log"
    search_iteration(copy.deepcopy(_job(cfg, files, tmp_path, 0, log=str(log)).to_payload()))
    text = log.read_text()
    assert "[spider exp1 iter0] model M1" in text
    assert text.splitlines()[-1].startswith(TIMING_PREFIX)
    timing = read_timing(log)
    assert timing["end"] >= timing["start"] and timing["wall"] >= 0 and timing["cpu"] >= 0
    assert Path(tmp_path / "exp1" / "state_0.json").exists()


def test_a_failed_job_still_ends_its_log_with_the_timing(tmp_path):
    from hhnas.jobs.log import job_log

    log = tmp_path / "x.log"
    with pytest.raises(SystemExit), job_log(log):
        raise ValueError("datasets.x: bad")
    lines = log.read_text().splitlines()
    assert lines[0] == "hhnas error: datasets.x: bad" and lines[-1].startswith(TIMING_PREFIX)
    assert read_timing(tmp_path / "missing.log") is None


def _results_job(cfg, files, results: Path, iteration: int, **extra) -> it.IterationJob:
    """An iteration job whose files sit where the workflow puts them, under results/."""
    return _job(cfg, files, results / "spider/search/hhnas", iteration, **extra)


def test_the_mirror_gets_each_iteration_and_changes_no_result_file(cfg, files, tmp_path):
    from hhnas.mirror.journal import journal_path, open_storage

    on, off = tmp_path / "on/results", tmp_path / "off/results"
    for i in (0, 1):
        it.run_iteration(_results_job(cfg, files, on, i, mirror=str(on)))
        it.run_iteration(_results_job(cfg, files, off, i))
    assert not (off / "optuna").exists()
    storage = open_storage(journal_path(on))
    [study] = storage.get_all_studies()
    assert study.study_name == "spider/hhnas/exp1"
    assert study.user_attrs["seed"] == it.experiment_seed(JobConfig.from_mapping(cfg).search, 1)
    trials = storage.get_all_trials(storage.get_study_id_from_name(study.study_name))
    exp = on / "spider/search/hhnas/exp1"
    for i, trial in enumerate(trials):
        m = json.loads((exp / f"metrics_{i}.json").read_text())
        assert trial.value == m["objective"] and trial.user_attrs["test_acc"] == m["test_acc"]
        assert trial.params["p2"] == m["macro"][1]
        assert trial.params["learning_rate"] == m["params"]["learning_rate"]
    for i in (0, 1):
        name = f"state_{i}.json"
        assert (exp / name).read_bytes() == (off / "spider/search/hhnas/exp1" / name).read_bytes()


def test_a_broken_mirror_does_not_fail_the_job(cfg, files, tmp_path, capsys):
    results = tmp_path / "results"
    (results / "optuna").mkdir(parents=True)
    (results / "optuna" / "journal.log").mkdir()  # not a file: the mirror cannot open it
    metrics = it.run_iteration(_results_job(cfg, files, results, 0, mirror=str(results)))
    assert metrics["status"] == "ok"
    assert (results / "spider/search/hhnas/exp1/state_0.json").exists()
    assert "optuna mirror not updated (IsADirectoryError" in capsys.readouterr().err
