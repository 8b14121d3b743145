"""Adapter: a CSV of texts and a final model -> the CSV with its top-k labels and
probabilities (refused when the model's feature settings differ from this config's)."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
from hhnas.final.cli import read_texts, write_predictions  # noqa: E402
from hhnas.final.inference import Predictor  # noqa: E402
from hhnas.final.modeldir import ModelDirError, config_differences, read_manifest  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params.predict
with job_log(sm.log[0]):
    differs = config_differences(read_manifest(sm.input.model), sm.params.features)
    if differs:
        raise ModelDirError(
            f"{sm.input.model}: trained with other feature settings than this config ("
            + "; ".join(differs)
            + "); predict with the config it was trained with, or rebuild the final model"
        )
    rows, texts = read_texts(sm.input.csv, p["text_column"])
    predictor = Predictor(sm.input.model, threads=sm.threads, progress=True)
    k = min(int(p["top_k"]), len(predictor.labels))
    write_predictions(sm.output[0], rows, predictor.top_k(texts, k), k)
    print(f"{len(rows)} predictions -> {sm.output[0]}")
