"""Adapter: one search iteration (state i-1 -> candidate i trained -> state i, metrics i)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821

from hhnas.iteration import run_iteration  # noqa: E402
from hhnas.joblog import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    run_iteration(
        {**sm.config, "search": sm.params.search},
        sm.wildcards.dataset,
        int(sm.wildcards.experiment),
        int(sm.wildcards.iteration),
        sm.input.get("state"),
        {k: v for k, v in sm.input.items() if k != "state"},
        sm.output.state,
        sm.output.metrics,
        variant=sm.wildcards.variant,
    )
