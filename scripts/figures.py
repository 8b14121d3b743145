"""Adapter: Spider metrics -> Figure 3 (Model 4), Figure 4 (Model 2) and every model's trend."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.figures import plot_model_trend  # noqa: E402
from hhnas.reporting.metrics import load_metrics  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    df = load_metrics(list(sm.input))
    plot_model_trend(
        df,
        4,
        sm.output.figure3,
        sm.output.figure3_svg,
        "Figure 3: Model 4 validation accuracy across experiments",
    )
    plot_model_trend(
        df,
        2,
        sm.output.figure4,
        sm.output.figure4_svg,
        "Figure 4: Model 2 validation accuracy across experiments",
    )
    for m, png, svg in zip(sm.params.models, sm.output.models, sm.output.models_svg, strict=True):
        plot_model_trend(df, m, png, svg, f"Model {m} validation accuracy across experiments")
