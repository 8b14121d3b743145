"""Adapter: the confirmatory runs' candidates and the dataset's features -> its noise floor."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.config import StudyNoise  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.study.jobs import run_noise_floor  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    run_noise_floor(
        list(sm.input.metrics),
        {k: sm.input[k] for k in ("rows", "classes", "llm", "linking", "backbone")},
        sm.params.study["training"],
        StudyNoise(**sm.params.study["noise"]),
        sm.output[0],
    )
