"""The fault-injection hook and the report's table of failures by search-space region."""

import math

import pandas as pd
import pytest
import torch

from hhnas.jobs.faults import loss_hook, parse
from hhnas.reporting.failures import failure_regions


def test_fault_spec_parses_and_names_bad_entries():
    assert parse("nan@spider/hhnas/1/2, oom@spider/random/2/0") == {
        ("spider", "hhnas", 1, 2): "nan",
        ("spider", "random", 2, 0): "oom",
    }
    assert parse("") == {}
    with pytest.raises(ValueError, match="KIND must be one of"):
        parse("boom@spider/hhnas/1/2")
    with pytest.raises(ValueError, match="expected KIND@DATASET/VARIANT/EXPERIMENT/ITERATION"):
        parse("nan@spider/1/2")


def test_hook_applies_only_to_the_named_candidate(monkeypatch):
    monkeypatch.setenv("HHNAS_FAULT", "nan@spider/hhnas/1/2,oom@spider/hhnas/1/3")
    assert loss_hook("spider", "hhnas", 1, 1) is None
    assert math.isnan(loss_hook("spider", "hhnas", 1, 2)(torch.tensor(1.0), 1).item())
    with pytest.raises(torch.OutOfMemoryError, match="injected"):
        loss_hook("spider", "hhnas", 1, 3)(torch.tensor(1.0), 1)
    monkeypatch.delenv("HHNAS_FAULT")
    assert loss_hook("spider", "hhnas", 1, 2) is None


def _row(model, status, lr=0.01, crit=0, error=None):
    return {
        "dataset": "spider",
        "model": model,
        "status": status,
        "learning_rate": lr,
        "criterion_num": crit,
        "error": error,
    }


def test_failure_regions_by_hand():
    df = pd.DataFrame(
        [
            _row(4, "failed", 0.05, 1, "FloatingPointError: loss nan"),
            _row(4, "failed", 0.02, 1, "FloatingPointError: loss inf"),
            _row(4, "failed", 0.002, 0, "OutOfMemoryError: CUDA"),
            _row(4, "ok"),
            _row(2, "ok"),
        ]
    )
    out = failure_regions(df)
    assert out.to_dict("records") == [
        {
            "Dataset": "spider",
            "Model": "M4",
            "Optimizer": "SGD",
            "Learning rate": "[1e-2, 1e-1)",
            "Error": "FloatingPointError",
            "Failed": 2,
            "Of evaluated": 4,
        },
        {
            "Dataset": "spider",
            "Model": "M4",
            "Optimizer": "AdamW",
            "Learning rate": "[1e-3, 1e-2)",
            "Error": "OutOfMemoryError",
            "Failed": 1,
            "Of evaluated": 4,
        },
    ]


def test_no_failures_no_rows():
    assert failure_regions(pd.DataFrame([_row(1, "ok")])).empty


def test_explained_errors_reach_the_user_without_a_traceback(tmp_path, capfd, monkeypatch):
    from hhnas.jobs.log import job_log

    monkeypatch.delenv("HHNAS_DEBUG", raising=False)
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stop:
        with job_log(log):
            raise ValueError("results/x/state_1.json: damaged; delete it")
    assert stop.value.code == 1
    text = log.read_text()
    assert "hhnas error: results/x/state_1.json: damaged; delete it" in text
    assert "Traceback" not in text
    assert "hhnas error: results/x/state_1.json" in capfd.readouterr().err


def test_bugs_keep_their_traceback(tmp_path):
    from hhnas.jobs.log import job_log

    log = tmp_path / "job.log"
    with pytest.raises(RuntimeError):
        with job_log(log):
            raise RuntimeError("a bug")
    assert "Traceback" in log.read_text()
