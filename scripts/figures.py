"""Adapter: metrics -> every model's trend, and (spider role) Figure 3 (Model 4) and
Figure 4 (Model 2)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.figures import plot_model_trend  # noqa: E402
from hhnas.reporting.metrics import load_metrics  # noqa: E402

sm = snakemake  # noqa: F821
on = f" ({sm.params.dataset})" if sm.params.dataset else ""
with job_log(sm.log[0]):
    df = load_metrics(list(sm.input))
    for key, model in (("figure3", 4), ("figure4", 2)):
        if key in sm.output.keys():
            plot_model_trend(
                df,
                model,
                getattr(sm.output, key),
                getattr(sm.output, f"{key}_svg"),
                f"Figure {key[-1]}: Model {model} validation accuracy across experiments",
            )
    for m, png, svg in zip(sm.params.models, sm.output.models, sm.output.models_svg, strict=True):
        plot_model_trend(df, m, png, svg, f"Model {m} validation accuracy across experiments{on}")
