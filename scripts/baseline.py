"""Adapter: one plain baseline (tfidf-lr, linking-argmax, model1-default) -> its metrics JSON."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821

from hhnas.baselines import run_baseline  # noqa: E402
from hhnas.io import write_json  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    result = run_baseline(
        sm.wildcards.baseline,
        {k: sm.input[k] for k in ("rows", "classes", "llm", "linking", "backbone")},
        sm.config,
        int(sm.config["search"]["seed"]),
        threads=int(sm.threads),
    )
    write_json(sm.output[0], result)
