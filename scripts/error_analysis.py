"""Adapter: a final model's validation and test probabilities -> its error analysis."""

import sys
from pathlib import Path

# Scripts run from a copy under .snakemake/; the package lives beside this directory.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent / "src"))  # noqa: F821
import numpy as np  # noqa: E402

from hhnas.data.prepare import read_dataset  # noqa: E402
from hhnas.io import read_json, write_json, write_text  # noqa: E402
from hhnas.jobs.log import job_log  # noqa: E402
from hhnas.reporting.errors import error_analysis, pairs_csv  # noqa: E402

sm = snakemake  # noqa: F821
cfg = sm.params.analysis
with job_log(sm.log[0]):
    with np.load(sm.input.probabilities, allow_pickle=False) as z:
        evaluation = {k: z[k] for k in z.files}
    result = error_analysis(
        read_dataset(sm.input.rows),
        read_json(sm.input.classes),
        evaluation,
        float(cfg["similar_schema_jaccard"]),
        int(cfg["top_pairs"]),
        [float(t) for t in cfg["merge_thresholds"]],
        groups=read_json(sm.input.groups),
    )
    test = result["test"]
    print(
        f"test: {test['errors']} errors of {test['rows']}; top-1 {test['top1']:.4f} "
        f"top-3 {test['top3']:.4f}; ceiling {test['ceiling']:.4f}"
    )
    if "generalisation" in result:
        g = result["generalisation"]["test"]
        print(
            f"test by {result['generalisation']['source']}: {g['seen']} of {g['rows']} share "
            f"their group with a training question of their class (accuracy "
            f"{g['seen_accuracy']}), {g['new']} do not (accuracy {g['new_accuracy']})"
        )
    write_json(sm.output.errors, result)
    write_text(sm.output.pairs, pairs_csv(test["confused_pairs"]))
