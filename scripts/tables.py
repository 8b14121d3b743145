"""Adapter: metrics of every iteration -> the tables its rule names (CSV, Markdown, LaTeX):
the paper's Tables 2-3 (spider role), Table 1 (heldout role), or a dataset's own table."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.metrics import load_metrics  # noqa: E402
from hhnas.reporting.paper import TABLE1, TABLE3  # noqa: E402
from hhnas.reporting.tables import table1, table2, table3, write_table  # noqa: E402

sm = snakemake  # noqa: F821
ref = sm.params.reference
# The paper's tables show its figures beside ours in every row; a dataset's own table does not.
BUILDERS = {
    "table1": lambda df: table1(df, paper=TABLE1),
    "table2": lambda df: table2(df, ref["cited_baseline"], ref["paper"]),
    "table3": lambda df: table3(df, paper=TABLE3),
    "experiments": table3,
}
with job_log(sm.log[0]):
    df = load_metrics(list(sm.input.metrics))
    for name, build in BUILDERS.items():
        if name in sm.output.keys():
            write_table(build(df), getattr(sm.output, name)[: -len(".csv")])
