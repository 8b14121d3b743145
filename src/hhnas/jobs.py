"""Job functions the Snakemake adapters run, in their own process or in the warm worker
(hhnas.warm_worker); each takes one JSON-able payload."""

from __future__ import annotations

from typing import Any

from hhnas.joblog import job_log


def search_iteration(payload: dict[str, Any]) -> None:
    """One search iteration (hhnas.iteration.run_iteration), its output in the job's log."""
    with job_log(payload["log"]):
        # Imported inside the log: an import error is then in the log too.
        from hhnas.iteration import run_iteration

        run_iteration(
            payload["config"],
            payload["dataset"],
            int(payload["experiment"]),
            int(payload["iteration"]),
            payload["prev_state"],
            payload["inputs"],
            payload["out_state"],
            payload["out_metrics"],
            variant=payload["variant"],
        )
