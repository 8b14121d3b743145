"""Adapter: one search iteration (state i-1 -> candidate i trained -> state i, metrics i)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821

# Only the standard library is imported here: the job itself may run in the warm worker.
from hhnas.warm_worker import run_job  # noqa: E402

sm = snakemake  # noqa: F821
payload = {
    "log": sm.log[0],
    "config": {**sm.config, "search": sm.params.search},
    "dataset": sm.wildcards.dataset,
    "experiment": int(sm.wildcards.experiment),
    "iteration": int(sm.wildcards.iteration),
    "prev_state": sm.input.get("state"),
    "inputs": {k: str(v) for k, v in sm.input.items() if k != "state"},
    "out_state": sm.output.state,
    "out_metrics": sm.output.metrics,
    "variant": sm.wildcards.variant,
}
sys.exit(run_job("search_iteration", payload, sm.config.get("execution")))
