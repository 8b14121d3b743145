"""The job path's rewrite changes no result: a tiny run gives the files the code before it gave.

tests/data/tiny_golden.json holds the digests (timings aside, tests/golden.py) of a tiny run of
the workflow as it was before the job path moved into hhnas.jobs and iteration jobs started
from a shell command (commit 4c4e94d), recorded on the development machine. Floating-point
kernels differ between CPUs and torch builds, so on another machine the test is skipped, not
failed; there the with/without-worker test (test_jobs_worker.py) still holds."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, make_workdir, run_snakemake
from golden import digests, machine

from hhnas.config.variants import load_ablation

pytestmark = pytest.mark.slow
GOLDEN = json.loads((ROOT / "tests" / "data" / "tiny_golden.json").read_text())


@pytest.fixture(scope="module")
def golden_machine() -> None:
    if machine() != GOLDEN["machine"]:
        pytest.skip(f"digests recorded on {GOLDEN['machine']}, this is {machine()}")


@pytest.mark.parametrize("warm", [True, False], ids=["warm-worker", "own-process"])
def test_a_tiny_run_gives_the_files_of_the_code_before(tmp_path, golden_machine, warm):
    # The digests were recorded with the paper-literal Q-table, the default until 2026-12-02.
    extra = {
        "execution": {"warm_worker": warm, "warm_worker_idle_seconds": 5},
        "search": load_ablation(str(ROOT / "config" / "ablations" / "hhnas-literal.yaml")),
    }
    wd = make_workdir(tmp_path, extra)
    run_snakemake(wd)
    got = digests(wd)
    assert set(got) == set(GOLDEN["files"])
    differ = sorted(p for p in got if got[p] != GOLDEN["files"][p])
    assert not differ, f"differ from before: {differ}"


def test_golden_files_cover_every_kind_of_result():
    files = GOLDEN["files"]
    for part in (
        "data/dataset.jsonl",
        "features/llm.npy",
        "features/backbone.npy",
        "search/hhnas/exp2/state_2.json",
        "tables/table3.csv",
        "figures/model1.svg",
    ):
        assert any(p.endswith(part) for p in files), part
