"""Adapter: backbone.path -> results/models/backbone.json naming the local model directory."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.features.encoder import resolve_model_path  # noqa: E402
from hhnas.features.split_zip import model_dir  # noqa: E402
from hhnas.io import write_json  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    spec = sm.params.spec
    extracted = sm.input.get("extracted")
    path = (
        str(model_dir(extracted).resolve())
        if extracted
        else resolve_model_path(spec, "backbone.path")
    )
    print(f"backbone.path = {spec!r} -> {path}")
    write_json(sm.output[0], {"spec": spec, "path": path})
