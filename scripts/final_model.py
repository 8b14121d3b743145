"""Adapter: the main search's metrics and features -> the final model directory."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.final.build import build_final_model  # noqa: E402
from hhnas.io import write_json  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.html import git_commit  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    dataset = sm.wildcards.dataset
    metrics = build_final_model(
        list(sm.input.metrics),
        {k: v for k, v in sm.input.items() if k != "metrics"},
        sm.params.job,
        dataset,
        sm.output.model,
        sm.output.probabilities,
        commit=git_commit(sm.params.basedir),
    )
    write_json(sm.output.metrics, metrics)
