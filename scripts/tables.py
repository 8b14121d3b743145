"""Adapter: metrics of every iteration -> Tables 1-3 (CSV, Markdown, LaTeX)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.metrics import load_metrics  # noqa: E402
from hhnas.reporting.tables import table1, table2, table3, write_table  # noqa: E402

sm = snakemake  # noqa: F821
ref = sm.params.reference
with job_log(sm.log[0]):
    spider = load_metrics(list(sm.input.spider))
    heldout = load_metrics(list(sm.input.heldout))
    write_table(table3(spider), sm.output.table3[: -len(".csv")])
    write_table(table1(heldout), sm.output.table1[: -len(".csv")])
    write_table(
        table2(spider, ref["cited_baseline"], ref["paper"]), sm.output.table2[: -len(".csv")]
    )
