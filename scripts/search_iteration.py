"""The code of rules search_iteration and study_iteration: one search iteration.

    python scripts/search_iteration.py WARM_WORKER IDLE_SECONDS MIRROR LOG PAYLOAD_JSON

calls hhnas.jobs.search_iteration with the payload, through hhnas.jobs.worker.run_job: in the
warm worker when WARM_WORKER is 1 (`execution.warm_worker`; a child forked from a process that
has imported torch, which exits after IDLE_SECONDS without a job), else in this process; the
results are the same either way. MIRROR is the results folder whose Optuna journal the job
appends to (`execution.optuna_mirror`), or empty.

A shell command, not `script:`: a quick iteration trains in about a second, and a `script:`
adapter first spends a fifth of a CPU-second importing Snakemake to unpickle its `snakemake`
object (benchmarks/bench_job_start.py). This client imports the standard library and two
modules that import nothing else.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from hhnas.jobs import search_iteration  # noqa: E402
from hhnas.jobs.worker import client_settings, run_job  # noqa: E402

warm_worker, idle_seconds, mirror, log, payload = sys.argv[1:]
settings = client_settings(warm_worker, idle_seconds)
job = {**json.loads(payload), "log": log, "mirror": mirror or None}
sys.exit(run_job(search_iteration, job, settings))
