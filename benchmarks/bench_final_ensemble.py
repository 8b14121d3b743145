"""Final model: the best candidate alone, or the mean of the top k candidates' probabilities?

Run after `make run` (it reads the main search's metrics and the cached features):

    .venv/bin/python benchmarks/bench_final_ensemble.py --dataset spider --k 1 3 5

For each k it builds the final model with `final.ensemble: {method: mean, candidates: k}` (the
top k candidates by validation accuracy retrained with their search seeds, hhnas.final.build,
into a temporary directory) and prints validation and test accuracy and top-3 of the averaged
probabilities, and the seconds it took. Choose by validation accuracy only. Greedy selection
with TF-IDF (the default method) is measured by bench_final_selection.py.
"""

from __future__ import annotations

import argparse
import glob
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="spider")
    ap.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--config", nargs="*", default=[], help="config files over config.yaml")
    args = ap.parse_args()

    from hhnas.config import load, merged
    from hhnas.final.build import build_final_model

    cfg = load(merged(ROOT / "config" / "config.yaml", *args.config))
    d = args.dataset
    base = ROOT / "results" / d
    variant = cfg.variant_dir.get(cfg.main_variant, cfg.main_variant)
    metrics = sorted(glob.glob(str(base / "search" / variant / "exp*" / "metrics_*.json")))
    inputs = {
        "rows": str(base / "data" / "dataset.jsonl"),
        "classes": str(base / "data" / "classes.json"),
        "backbone": str(base / "features" / "backbone.npy"),
        "llm": str(base / "features" / "llm.npy"),
        "linking": str(base / "features" / "linking.npy"),
        "llm_classes": str(base / "features" / "llm_classes.npz"),
        "backbone_model": str(ROOT / "results" / "models" / "backbone.json"),
        "llm_model": str(ROOT / "results" / "models" / "llm"),
    }
    print(f"{d}: {len(metrics)} candidates of the main search ({variant})")
    for k in args.k:
        job = cfg.final_job_config(d)
        job["final"] = {
            **job["final"],
            "ensemble": {"method": "mean", "candidates": k, "rounds": 1, "tfidf": False},
        }
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            m = build_final_model(
                metrics,
                inputs,
                job,
                d,
                f"{tmp}/final",
                f"{tmp}/probs.npz",
                progress=lambda _msg: None,
            )
            took = time.perf_counter() - start
        print(
            f"k={k}: val {100 * m['val']['accuracy']:.2f} % (top-3 "
            f"{100 * m['val']['top3_accuracy']:.2f}), test {100 * m['test']['accuracy']:.2f} % "
            f"(top-3 {100 * m['test']['top3_accuracy']:.2f}); members reproduced: "
            f"{all(x['reproduced'] for x in m['members'])}; {took:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
