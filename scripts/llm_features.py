"""Adapter: questions and database descriptions -> LLM similarity features [N, 2, C], and the
class-side vectors that made them (a saved model scores new text with them)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.data.prepare import read_dataset  # noqa: E402
from hhnas.features.llm import llm_features_and_classes, make_provider  # noqa: E402
from hhnas.io import read_json, write_npy, write_npz  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    texts = [r["text"] for r in read_dataset(sm.input.rows)]
    classes = read_json(sm.input.classes)
    provider = make_provider({**sm.params.llm, "model_dir": sm.input.model, "threads": sm.threads})
    feats, vectors = llm_features_and_classes(
        provider, texts, classes["classes"], classes["schemas"]
    )
    print(f"llm features {feats.shape} ({provider.name})")
    write_npz(sm.output.classes, databases=vectors.databases, question_mean=vectors.question_mean)
    write_npy(sm.output.features, feats)
