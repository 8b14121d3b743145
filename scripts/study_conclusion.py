"""Adapter: every dataset's study summary -> the conclusion (JSON, text, table)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.study_conclusion import write_conclusion  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_conclusion(
        list(sm.input), sm.params.study, {k: sm.output[k] for k in ("json", "md", "table_csv")}
    )
