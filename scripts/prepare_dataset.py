"""Adapter: raw dataset files -> dataset.jsonl, classes.json, counts.json, groups.json."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821

from hhnas.data.prepare import build_dataset, write_dataset  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    built = build_dataset(sm.wildcards.dataset, sm.params.dataset_cfg, sm.params.data_cfg)
    print(built["counts"])
    write_dataset(built, sm.output.rows, sm.output.classes, sm.output.counts, sm.output.groups)
