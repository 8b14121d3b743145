"""Adapter: the packaged GGUF LLM -> a safetensors model directory (once per machine)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.features.llm import convert_gguf_to_safetensors, find_gguf  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    pkg_dir, gguf_file = find_gguf(sm.params.gguf, "llm.gguf")
    convert_gguf_to_safetensors(pkg_dir, gguf_file, sm.output[0])
