"""Adapter: questions -> token ids for fine-tuning, cached once per dataset."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.data.prepare import read_dataset  # noqa: E402
from hhnas.features.tokens import tokenize_texts, write_tokens  # noqa: E402
from hhnas.io import read_json  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    model = read_json(sm.input.model)["path"]
    texts = [r["text"] for r in read_dataset(sm.input.rows)]
    arrays = tokenize_texts(model, texts, int(sm.params.max_length))
    n = len(arrays["offsets"]) - 1
    print(f"tokenised {n} questions with {model}: {len(arrays['ids'])} tokens")
    write_tokens(sm.output[0], arrays)
