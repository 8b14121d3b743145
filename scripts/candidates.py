"""Adapter: the metrics of every search the report covers -> results/candidates.csv, one row per
evaluated candidate (docs/candidates.md)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.candidates import write_candidates  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    df = write_candidates(list(sm.input.metrics), sm.output[0])
    print(f"{sm.output[0]}: {len(df)} candidates")
