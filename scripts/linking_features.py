"""Adapter: questions x database schemas -> schema-linking features [N, R, C]."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.data.prepare import read_dataset  # noqa: E402
from hhnas.features.schema_linking import linking_features  # noqa: E402
from hhnas.io import read_json, write_npy  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    texts = [r["text"] for r in read_dataset(sm.input.rows)]
    schemas = read_json(sm.input.classes)["schemas"]
    feats = linking_features(texts, schemas)
    print(f"schema-linking features {feats.shape}")
    write_npy(sm.output[0], feats)
