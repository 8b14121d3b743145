"""Adapter: the confirmatory runs' candidates and noise floor -> the surrogate benchmark."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.config import StudySurrogate  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.study.jobs import run_surrogate_study  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params.study
with job_log(sm.log[0]):
    run_surrogate_study(
        list(sm.input.metrics),
        sm.input.noise,
        p["space"],
        p["searches"],
        p["learning"],
        StudySurrogate(**p["settings"]),
        p["real_seed"],
        p["real_experiments"],
        p["iterations"],
        sm.output[0],
    )
