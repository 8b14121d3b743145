"""Client for short jobs run from a rule's `shell:` (one search iteration):

    python scripts/run_job.py JOB LOG PAYLOAD_JSON

A quick iteration trains in about a second, and a `script:` adapter first spends a fifth of a
CPU-second importing Snakemake to unpickle its `snakemake` object (benchmarks/bench_job_start.py).
This client imports only the standard library and hands the payload to hhnas.jobs, in the warm
worker when it is on (hhnas.jobs.worker.export_job_environment, called by rules/common.smk, says
whether it is)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from hhnas.jobs.worker import run_job, settings_from_environment  # noqa: E402

job, log, payload = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.exit(run_job(job, {**payload, "log": log}, settings_from_environment()))
