"""Adapter: one dataset's confirmatory runs, noise floor and surrogate benchmark -> its tables,
figures and summary."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.study import write_dataset_study  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params.study
out = sm.output


def stem(path: str) -> str:
    return path[: -len(".csv")]


with job_log(sm.log[0]):
    write_dataset_study(
        p["dataset"],
        {v: list(sm.input[f"metrics_{v}"]) for v in p["variants"]},
        p["dirs"],
        sm.input.noise,
        sm.input.surrogate,
        p["settings"],
        {
            "table": stem(out.table_csv),
            "surrogate": stem(out.surrogate_csv),
            "noise": stem(out.noise_csv),
            "qtable": stem(out.qtable_csv),
            "curves_png": out.curves_png,
            "curves_svg": out.curves_svg,
            "surrogate_curves_png": out.surrogate_curves_png,
            "surrogate_curves_svg": out.surrogate_curves_svg,
            "cost_png": out.cost_png,
            "cost_svg": out.cost_svg,
            "summary": out.summary,
        },
    )
