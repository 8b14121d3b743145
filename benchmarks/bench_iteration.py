"""Time the pieces of one quick-profile search iteration on cached features.

Run after `make run` (it reads results/<dataset>/ features):
    .venv/bin/python benchmarks/bench_iteration.py [--dataset spider] [--repeats 3] [--large]
Prints the import, feature-loading and training seconds for Models 1-4 with default parameters;
``--large`` adds Model 4 with the space's largest layers (layer_size1 1024, layer_size2 512).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
MACROS = ([1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="spider")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    ap.add_argument("--large", action="store_true", help="also time the largest Model 4")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import numpy as np
    import torch  # noqa: F401
    import yaml

    from hhnas.config import Training
    from hhnas.data.prepare import read_dataset
    from hhnas.io import read_json
    from hhnas.search.space import space_from_config
    from hhnas.training.candidate import train_candidate
    from hhnas.training.data import build_feature_set

    t_import = time.perf_counter() - t0
    cfg = yaml.safe_load(open(args.config))
    base = ROOT / "results" / args.dataset
    t0 = time.perf_counter()
    rows = read_dataset(str(base / "data" / "dataset.jsonl"))
    n_classes = len(read_json(base / "data" / "classes.json")["classes"])
    fs = build_feature_set(
        [r["split"] for r in rows],
        [r["label"] for r in rows],
        n_classes,
        np.load(base / "features" / "backbone.npy"),
        np.load(base / "features" / "llm.npy"),
        np.load(base / "features" / "linking.npy"),
    )
    t_load = time.perf_counter() - t0
    print(f"dataset {args.dataset}: {len(rows)} rows, {n_classes} classes")
    print(f"import torch + hhnas: {t_import:.2f} s; load cached features: {t_load:.2f} s")
    params = space_from_config(cfg["search"]).initial
    epochs = cfg["training"]["epochs"]
    models = [(f"Model {m}", macro, params) for m, macro in enumerate(MACROS, start=1)]
    if args.large:
        large = {**params, "layer_size1": 1024, "layer_size2": 512}
        models.append(("Model 4 (1024/512)", MACROS[-1], large))
    for name, macro, candidate in models:
        times, accs = [], []
        tc = Training.from_mapping(cfg["training"])
        for r in range(args.repeats):
            res = train_candidate(macro, candidate, fs, tc, seed=r)
            times.append(res["seconds"])
            accs.append(res["val_acc"])
        per_epoch = min(times) / epochs
        print(
            f"{name}: {min(times):.2f} s per candidate ({epochs} epochs, "
            f"{per_epoch * 1000:.0f} ms/epoch, best of {args.repeats}); "
            f"val acc {np.mean(accs) * 100:.2f} %"
        )


if __name__ == "__main__":
    main()
