"""Real snakemake runs killed with SIGKILL at several points, fed a damaged state file, and made
to fail candidates on purpose. A killed run re-run with the same command ends with byte-identical
data, features, states and tables to an uninterrupted run; a damaged state stops the run with the
file and the fix named; failed candidates are recorded and the search goes on."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SNAKEMAKE_TINY, make_workdir, run_snakemake, seed_features, snakemake_env

pytestmark = pytest.mark.slow
# One dataset, one experiment of four iterations: every stage, as small as it gets.
EXTRA = {
    "run_datasets": ["spider"],
    "tables": {"spider": "spider", "heldout": "spider"},
    "search": {"experiments": 1, "iterations": 4},
}
SEARCH = "results/spider/search/hhnas/exp1"


def _outputs(wd: Path) -> dict[str, bytes]:
    """Every file whose bytes must not depend on how often the run was interrupted."""
    files = {}
    for pattern in (
        "results/spider/data/*",
        "results/spider/features/*.npy",
        f"{SEARCH}/state_*.json",
        "results/tables/*",
    ):
        for path in sorted(wd.glob(pattern)):
            files[str(path.relative_to(wd))] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def reference(tmp_path_factory, feature_run) -> Path:
    """The uninterrupted run, from the session's feature run (the same tiny config, so the
    bytes its own data and feature jobs would make)."""
    wd = seed_features(make_workdir(tmp_path_factory.mktemp("reference"), EXTRA), feature_run)
    run_snakemake(wd)
    assert len(list(wd.glob(f"{SEARCH}/state_*.json"))) == 4
    return wd


def _with_prepared_data(reference: Path, wd: Path) -> Path:
    """The reference's data, models and features (same bytes), no search yet."""
    shutil.copytree(reference / "results", wd / "results")
    for sub in ("results/spider/search", "results/tables", "results/figures"):
        shutil.rmtree(wd / sub)
    (wd / "results/report.html").unlink()
    return wd


def _kill_when(wd: Path, ready, *args: str, timeout: float = 600) -> None:
    proc = subprocess.Popen(
        [*SNAKEMAKE_TINY, *args],
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=snakemake_env(),
    )
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready(wd):
        time.sleep(0.02)
    ended = proc.poll() is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not ended, "the run finished before the kill point"


def _exists(*paths: str):
    return lambda wd: all((wd / p).exists() for p in paths)


KILL_POINTS = {
    # While the dataset is being prepared (its log is opened when the job starts).
    "data-prep": _exists("results/logs/spider/prepare_dataset.log"),
    # While the LLM features are computed.
    "features": lambda wd: (
        (wd / "results/logs/spider/llm_features.log").exists()
        and not (wd / "results/spider/features/llm.npy").exists()
    ),
    # Inside the training job of iteration 1.
    "training": lambda wd: (
        (wd / "results/logs/spider/search/hhnas/exp1/iteration_1.log").exists()
        and not (wd / SEARCH / "state_1.json").exists()
    ),
    # Right after iteration 2's files were written.
    "between-jobs": _exists(f"{SEARCH}/state_2.json"),
}


@pytest.mark.parametrize(
    "points",
    [("data-prep", "features"), ("training", "between-jobs")],
    ids=["data-then-features", "training-then-between-jobs"],
)
def test_sigkill_then_the_same_command_gives_identical_files(reference, tmp_path, points):
    """Killed at each point in turn (the run after one kill is killed at the next), then
    finished with the README's recipe: the files equal the uninterrupted run's, byte for byte."""
    wd = make_workdir(tmp_path, EXTRA)
    if points[0] == "training":
        _with_prepared_data(reference, wd)
    for n, point in enumerate(points):
        # After a kill: README, "Resume": unlock, then the same command with --rerun-incomplete.
        _kill_when(wd, KILL_POINTS[point], *(["--rerun-incomplete"] if n else []))
        assert not (wd / "results/tables/table2.csv").exists()
        run_snakemake(wd, "--unlock")
    run_snakemake(wd, "--rerun-incomplete")
    got, want = _outputs(wd), _outputs(reference)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs after kills during {points}"


def _damaged_run(reference: Path, wd: Path, damage) -> tuple[subprocess.CompletedProcess, bytes]:
    shutil.copytree(reference / "results", wd / "results")
    state1 = wd / SEARCH / "state_1.json"
    damage(state1)
    for i in (2, 3):
        (wd / SEARCH / f"state_{i}.json").unlink()
        (wd / SEARCH / f"metrics_{i}.json").unlink()
    before = state1.read_bytes()
    return run_snakemake(wd, "--", f"{SEARCH}/state_3.json", check=False), before


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc["state"]["accuracies"][0] = 1.0
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_truncate, "not valid JSON"),
        (_edit, "the state body does not match its checksum (edited by hand or damaged)"),
    ],
    ids=["truncated", "hand-edited"],
)
def test_damaged_state_stops_the_run_naming_file_and_fix(reference, tmp_path, damage, says):
    wd = make_workdir(tmp_path, EXTRA)
    proc, before = _damaged_run(reference, wd, damage)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"hhnas error: {SEARCH}/state_1.json: {says}" in out, out[-3000:]
    assert "delete" in out and "Traceback" not in out
    # Nothing was overwritten and nothing half-written was left.
    assert (wd / SEARCH / "state_1.json").read_bytes() == before
    assert not (wd / SEARCH / "state_2.json").exists()
    assert not list((wd / SEARCH).glob(".*.tmp"))


def test_injected_nan_and_oom_are_recorded_and_the_search_goes_on(reference, tmp_path):
    wd = _with_prepared_data(reference, make_workdir(tmp_path, EXTRA))
    run_snakemake(wd, env={"HHNAS_FAULT": "nan@spider/hhnas/1/1,oom@spider/hhnas/1/2"})
    m = [json.loads((wd / SEARCH / f"metrics_{i}.json").read_text()) for i in range(4)]
    assert [x["status"] for x in m] == ["ok", "failed", "failed", "ok"]
    assert m[1]["error_class"] == "FloatingPointError" and "nan" in m[1]["error"]
    assert m[2]["error_class"] == "OutOfMemoryError" and "injected" in m[2]["error"]
    assert m[1]["val_acc"] == m[1]["objective"] == m[2]["objective"] == 0.0
    state = json.loads((wd / SEARCH / "state_3.json").read_text())["state"]
    assert state["accuracies"][1:3] == [0.0, 0.0]
    report = (wd / "results/report.html").read_text()
    assert "Failed candidates by region of the search space" in report
    assert "OutOfMemoryError" in report and "FloatingPointError" in report
