"""Redesigns change no result: a tiny run gives the files the code before them gave.

tests/data/tiny_golden.json holds recordings of the digests (timings aside, tests/golden.py) of
a tiny run of the workflow, one per CPU model, each made by the code before a redesign: before
the job path moved into hhnas.jobs and iteration jobs started from a shell command (commit
4c4e94d, AMD EPYC family 25 model 1), and before the configuration moved to the ground floor and
the job's sections were typed (issue 22: commit 191a130, AMD EPYC family 25 model 17).
Floating-point kernels differ between CPUs and torch builds, so on a machine without a recording
the test is skipped, not failed; there the with/without-worker test (test_jobs_worker.py) still
holds."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, make_workdir, run_snakemake
from golden import digests, machine

from hhnas.config.variants import load_ablation

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


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    """The digests recorded on this machine's CPU model."""
    here = machine()
    for recording in RECORDINGS:
        if recording["machine"] == here:
            return {current_name(p): digest for p, digest in recording["files"].items()}
    pytest.skip(f"no digests recorded on {here} (only {[r['machine'] for r in RECORDINGS]})")


@pytest.mark.parametrize("warm", [True, False], ids=["warm-worker", "own-process"])
def test_a_tiny_run_gives_the_files_of_the_code_before(tmp_path, golden, warm):
    # The digests were recorded with the paper-literal Q-table, the default until 2026-12-02.
    extra = {
        "execution": {"warm_worker": warm, "warm_worker_idle_seconds": 5},
        "search": load_ablation(str(ROOT / "config" / "ablations" / "hhnas-literal.yaml")),
    }
    wd = make_workdir(tmp_path, extra)
    run_snakemake(wd)
    got = compared(digests(wd), golden)
    assert set(got) == set(golden)
    differ = sorted(p for p in got if got[p] != golden[p])
    assert not differ, f"differ from before: {differ}"


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
