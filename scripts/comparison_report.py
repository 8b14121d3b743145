"""Adapter: comparison table and figure -> the self-contained results/comparison.html."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.config import from_validated  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.build import build_comparison_report  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    build_comparison_report(
        from_validated(dict(sm.params.config)),
        dict(sm.input.items()),
        sm.input.template,
        sm.output[0],
        # The checkout the scripts belong to, not the working directory.
        basedir=str(Path(sm.scriptdir).parent),
    )
