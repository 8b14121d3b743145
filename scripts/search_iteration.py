"""The code of rules search_iteration and study_iteration: one search iteration.

    python scripts/search_iteration.py LOG PAYLOAD_JSON

calls hhnas.jobs.search_iteration with the payload, through hhnas.jobs.worker.run_job: in the
warm worker when the workflow's `execution.warm_worker` says so (the settings rules/common.smk
left in the environment, hhnas.jobs.worker.export_job_environment; a child forked from a process
that has imported torch), else in this process; the results are the same either way. A shell
command, not `script:`: a quick iteration trains in about a second, and a `script:` adapter
first spends a fifth of a CPU-second importing Snakemake to unpickle its `snakemake` object
(benchmarks/bench_job_start.py). This client imports the standard library and two modules that
import nothing else.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from hhnas.jobs import search_iteration  # noqa: E402
from hhnas.jobs.worker import run_job, settings_from_environment  # noqa: E402

log, payload = sys.argv[1:]
settings = settings_from_environment()
sys.exit(run_job(search_iteration, {**json.loads(payload), "log": log}, settings))
