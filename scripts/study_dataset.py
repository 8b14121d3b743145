"""Adapter: one dataset's study metrics and final states -> its tables, figures and summary."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.study import write_dataset_study  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params.study
with job_log(sm.log[0]):
    out = sm.output
    write_dataset_study(
        p["dataset"],
        {v: list(sm.input[f"metrics_{v}"]) for v in p["variants"]},
        {v: list(sm.input[f"states_{v}"]) for v in p["learning"]},
        p["dirs"],
        p["search"],
        p["max_prob"],
        p["settings"],
        {
            "table": out.table_csv[: -len(".csv")],
            "importance": out.importance_csv[: -len(".csv")],
            "curves_png": out.curves_png,
            "curves_svg": out.curves_svg,
            "cost_png": out.cost_png,
            "cost_svg": out.cost_svg,
            "summary": out.summary,
        },
    )
