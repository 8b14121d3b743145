"""Adapter: metrics of every search variant + baselines -> comparison table and figure."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.comparison import (  # noqa: E402
    as_paths,
    comparison_table,
    plot_best_so_far,
    write_comparison_table,
)

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    metrics = {}
    for variant in sm.params.variants:
        paths = as_paths(sm.input.get(f"metrics_{variant}"))
        if not paths:
            raise ValueError(f"rule input has no metrics_{variant} for variant {variant!r}")
        metrics[variant] = paths
    baselines = as_paths(sm.input.get("baselines"))
    stem = sm.output.table_csv[: -len(".csv")]
    if (sm.output.table_md, sm.output.table_tex) != (f"{stem}.md", f"{stem}.tex"):
        raise ValueError(f"table outputs must share the stem {stem!r} (.csv/.md/.tex)")
    write_comparison_table(comparison_table(metrics, baselines), stem)
    plot_best_so_far(
        metrics, sm.output.figure_png, sm.output.figure_svg, sm.params.title, baselines
    )
