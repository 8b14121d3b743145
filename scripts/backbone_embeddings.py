"""Adapter: questions -> frozen backbone sentence embeddings [N, D], cached once per dataset."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.data.prepare import read_dataset  # noqa: E402
from hhnas.features.encoder import encode_texts  # noqa: E402
from hhnas.io import read_json, write_npy  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
cfg = sm.params.backbone
with job_log(sm.log[0]):
    # Resolved once by rule backbone_model (which also handles split-zip archives).
    model_dir = read_json(sm.input.model)["path"]
    texts = [r["text"] for r in read_dataset(sm.input.rows)]
    emb = encode_texts(
        model_dir,
        texts,
        batch_size=cfg["batch_size"],
        max_length=cfg["max_length"],
        pooling=cfg["pooling"],
        threads=sm.threads,
    )
    print(f"backbone embeddings {emb.shape} from {model_dir}")
    write_npy(sm.output[0], emb)
