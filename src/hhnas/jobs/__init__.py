"""How a job starts and runs: the warm worker (:mod:`hhnas.jobs.worker`), the job log
(:mod:`hhnas.jobs.log`) and one search iteration as steps (:mod:`hhnas.jobs.iteration`).

A Snakemake rule names a job of :data:`JOBS` and hands it one JSON-able payload; the job runs in
the rule's own process or in a child forked by the warm worker, with the same result files
either way. Nothing is imported at module level: the client side of a job must stay cheap.
"""

from __future__ import annotations

# Names for annotations only: the client imports this module on every job.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Job names and the function each runs ("module:function", taking the payload): a client can
# name a job, never code.
JOBS: dict[str, str] = {
    "search_iteration": "hhnas.jobs:search_iteration",
}


def search_iteration(payload: dict[str, Any]) -> None:
    """One search iteration (hhnas.jobs.iteration), its output in the job's log."""
    from hhnas.jobs.log import job_log

    with job_log(payload["log"]):
        # Imported inside the log: an import error is then in the log too.
        from hhnas.jobs.iteration import IterationJob, run_iteration

        run_iteration(IterationJob.from_payload(payload))
