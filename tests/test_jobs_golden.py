"""Redesigns change no result: a tiny run gives the files the code before them gave.

tests/data/tiny_golden.json holds recordings of the digests (timings aside, tests/golden.py) of
a tiny run of the workflow, one per CPU model, each made by the code before a redesign: before
the job path moved into hhnas.jobs and iteration jobs started from a shell command (commit
4c4e94d, AMD EPYC family 25 model 1), and before the configuration moved to the ground floor and
the job's sections were typed (issue 22: commit 191a130, AMD EPYC family 25 model 17).
Floating-point kernels differ between CPUs and torch builds, so on a machine without a recording
the test is skipped, not failed; there the with/without-worker test (test_jobs_worker.py) still
holds, and so do the any-CPU tests below: the data files (no floating point) are the recorded
ones, and the accuracies land within BOUNDS."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, make_workdir, run_snakemake
from golden import digest, digests, figures, golden_config, machine

pytestmark = pytest.mark.slow
RECORDINGS = json.loads((ROOT / "tests" / "data" / "tiny_golden.json").read_text())["recordings"]
# Files renamed since a recording, with the same content: the schema-linking features were
# "rule.npy" until issue 22 (2026-12-05) made "rule" mean a Snakemake rule only.
RENAMED = {"/features/rule.npy": "/features/linking.npy"}
# Files added since a recording, left out of the comparison with it (every file it holds is
# still compared): each dataset's data/groups.json, the groups of its questions, a new output
# of the data job since issue 23 (2026-12-05); the job's other files stay byte for byte.
ADDED = ("/data/groups.json",)


def compared(got: dict[str, str], golden: dict[str, str]) -> dict[str, str]:
    """The digests of a fresh run that a recording can speak for."""
    return {p: d for p, d in got.items() if p in golden or not p.endswith(ADDED)}


def current_name(path: str) -> str:
    for old, new in RENAMED.items():
        if path.endswith(old):
            return path[: -len(old)] + new
    return path


# The data files hold no floating point: the same bytes on every CPU (the recordings of two CPU
# models agree on them, tested below).
DATA_FILES = [
    f"{dataset}/data/{name}"
    for dataset in ("spider", "spider-heldout")
    for name in ("dataset.jsonl", "classes.json", "counts.json")
]
# Accuracies depend on the CPU through the last bits of every sum, which send the search along
# other paths. Search seeds stand in for those paths: SPREAD is each figure's (min, max) over
# search seeds 0-4 of this run's config (benchmarks/tiny_spread.py; benchmarks/README.md, "Tiny
# run bounds"), BOUNDS that range widened by MARGIN on each side, because a sixth path falls
# outside the range of five with chance 2/6. A broken pipeline (shuffled labels, features of
# other rows, a final model that ignores its members) lands near chance, one over the number of
# classes, far below every lower bound.
SPREAD: dict[str, dict[str, tuple[float, float]]] = {
    "spider": {
        "best_val": (0.7553, 0.8652),
        "best_test": (0.7624, 0.8546),
        "final_val": (0.8794, 0.8901),
        "final_test": (0.8546, 0.8759),
    },
    "spider-heldout": {
        "best_val": (0.9737, 0.9868),
        "best_test": (0.9342, 0.9737),
        "final_val": (0.9737, 1.0),
        "final_test": (0.9342, 0.9737),
    },
}
MARGIN = 0.10
BOUNDS = {
    ds: {key: (lo - MARGIN, hi + MARGIN) for key, (lo, hi) in figs.items()}
    for ds, figs in SPREAD.items()
}


@pytest.fixture(scope="module")
def own_process_run(tmp_path_factory):
    """One tiny run with the recorded config, shared by the digest and the bounds tests."""
    wd = make_workdir(tmp_path_factory.mktemp("own-process"), golden_config())
    run_snakemake(wd)
    return wd


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    """The digests recorded on this machine's CPU model."""
    here = machine()
    for recording in RECORDINGS:
        if recording["machine"] == here:
            return {current_name(p): digest for p, digest in recording["files"].items()}
    pytest.skip(f"no digests recorded on {here} (only {[r['machine'] for r in RECORDINGS]})")


def assert_golden(wd, golden: dict[str, str]) -> None:
    got = compared(digests(wd), golden)
    assert set(got) == set(golden)
    differ = sorted(p for p in got if got[p] != golden[p])
    assert not differ, f"differ from before: {differ}"


# The digests were recorded with the paper-literal Q-table, the default until 2026-12-02
# (golden_config), each job in its own process. With the warm worker the files are the same:
# tests/test_jobs_worker.py runs one workflow both ways and compares them (a second golden run
# here would repeat that for two more CI minutes).
def test_a_tiny_run_gives_the_files_of_the_code_before(own_process_run, golden):
    assert_golden(own_process_run, golden)


def test_the_recordings_agree_on_the_data_files():
    for path in DATA_FILES:
        assert len({r["files"][path] for r in RECORDINGS}) == 1, path


def test_the_data_files_are_the_recorded_ones_on_any_cpu(own_process_run):
    for path in DATA_FILES:
        assert digest(own_process_run / "results" / path) == RECORDINGS[0]["files"][path], path


def test_the_bounds_cover_every_figure():
    assert set(BOUNDS) == {"spider", "spider-heldout"}
    for figs in BOUNDS.values():
        assert set(figs) == {"best_val", "best_test", "final_val", "final_test"}


@pytest.mark.parametrize("dataset", ["spider", "spider-heldout"])
def test_accuracies_land_within_the_stated_bounds_on_any_cpu(own_process_run, dataset):
    got = figures(own_process_run, dataset)
    for key, (lo, hi) in BOUNDS[dataset].items():
        assert lo <= got[key] <= hi, f"{dataset} {key} {got[key]:.4f} outside [{lo:.4f}, {hi:.4f}]"


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda r: r["code"])
def test_golden_files_cover_every_kind_of_result(recording):
    files = recording["files"]
    for part in (
        "data/dataset.jsonl",
        "features/llm.npy",
        "features/backbone.npy",
        "search/hhnas/exp2/state_2.json",
        "tables/table3.csv",
        "figures/model1.svg",
    ):
        assert any(p.endswith(part) for p in files), part
