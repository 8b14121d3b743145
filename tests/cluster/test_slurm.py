"""The workflow on a real SLURM cluster (tests/cluster/run.sh brings one up): every search
iteration is a SLURM job, the GPU rule gets a GPU, a job cancelled with scancel mid-search is
resumed by the same command, and the results equal a local run's."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SNAKEMAKE, final_states, make_workdir, run_snakemake, snakemake_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HHNAS_SLURM") != "1",
        reason="needs the local SLURM cluster: run `bash tests/cluster/run.sh` as root",
    ),
]
# One experiment of three iterations per dataset; the iteration rule asks for a GPU.
EXTRA = {"training": {"gpu": 1}, "search": {"experiments": 1, "iterations": 3}}
DATASETS = ("spider", "spider-heldout")
SLURM = [
    "--profile",
    "profiles/slurm",
    "--jobs",
    "4",
    # The test cluster has no slurmdbd: sacct fails, squeue works (MinJobAge=300).
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--restart-times",
    "0",
]


def _slurm_cmd() -> list[str]:
    return [SNAKEMAKE, "--configfile", "config/test/tiny.yaml", "local.yaml", *SLURM]


def _our_jobs() -> list[tuple[str, str]]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i %k"], capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]


def test_search_runs_as_slurm_jobs_survives_scancel_and_matches_local(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    make_workdir(local, EXTRA)
    # The reference is the searches' states and metrics (final_states): the jobs after them
    # (final models, tables, report) are not compared, so not run.
    last = EXTRA["search"]["iterations"] - 1
    run_snakemake(
        local, "--", *(f"results/{d}/search/hhnas/exp1/state_{last}.json" for d in DATASETS)
    )

    wd = tmp_path / "slurm"
    wd.mkdir()
    make_workdir(wd, EXTRA)
    env = snakemake_env()
    log = open(wd / "first-run.log", "w")
    proc = subprocess.Popen(_slurm_cmd(), cwd=wd, stdout=log, stderr=subprocess.STDOUT, env=env)
    # Wait for the first iteration of a search to finish, then cancel the next one mid-run.
    cancelled = None
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and cancelled is None:
        if list(wd.glob("results/*/search/hhnas/exp1/state_0.json")):
            for jobid, comment in _our_jobs():
                if "search_iteration" in comment:
                    subprocess.run(["scancel", jobid], check=True)
                    cancelled = jobid
                    break
        time.sleep(1)
    rc = proc.wait(timeout=900)
    log.close()
    assert cancelled is not None, (wd / "first-run.log").read_text()[-3000:]
    assert rc != 0, "the run with a cancelled job should fail"

    # The same command again resumes (rerun-incomplete is in the profile) and finishes.
    proc2 = subprocess.run(_slurm_cmd(), cwd=wd, capture_output=True, text=True, env=env)
    assert proc2.returncode == 0, proc2.stderr[-6000:]

    # Every iteration ran as a SLURM job that had a GPU allocated.
    logs = sorted(wd.glob("results/logs/*/search/hhnas/exp1/iteration_*.log"))
    assert len(logs) == len(DATASETS) * 3
    job_ids = set()
    for path in logs:
        text = path.read_text()
        match = re.search(r"SLURM_JOB_ID=(\d+)", text)
        assert match, f"{path} did not run under SLURM"
        job_ids.add(match.group(1))
        assert "CUDA_VISIBLE_DEVICES=0" in text, f"{path}: no GPU allocated"
    assert len(job_ids) == len(logs)
    assert cancelled not in job_ids  # the cancelled iteration was redone by a new job

    # Identical to the local run with the same seed.
    assert final_states(wd) == final_states(local)
    assert Path(wd / "results" / "report.html").is_file()
