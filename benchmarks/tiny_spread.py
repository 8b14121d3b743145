"""How far the tiny config's results move when the search takes other paths: the bounds that
tests/test_jobs_golden.py holds on any CPU.

Another CPU model sums floats in another order, so the search's accuracies differ in their last
bits and the Q-table takes other paths. Search seeds stand in for those paths here: each seed is
a full tiny run from an empty directory, with the config of tests/test_jobs_golden.py's run
(config/test/tiny.yaml, the paper-literal Q-table, no warm worker) and that seed, and the script
prints, per seed and dataset, the best searched candidate's validation and test accuracy and the
final model's, then each figure's range over the seeds.

    .venv/bin/python benchmarks/tiny_spread.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    from conftest import make_workdir, run_snakemake
    from golden import figures, golden_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = ap.parse_args()
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            wd = make_workdir(Path(tmp), golden_config(seed))
            run_snakemake(wd)
            for dataset in ("spider", "spider-heldout"):
                rows.append({"seed": seed, "dataset": dataset, **figures(wd, dataset)})
                print(json.dumps(rows[-1]), flush=True)
            print(f"seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    for dataset in ("spider", "spider-heldout"):
        mine = [r for r in rows if r["dataset"] == dataset]
        for key in ("best_val", "best_test", "final_val", "final_test"):
            values = [r[key] for r in mine]
            print(f"{dataset:15s} {key:10s} min {min(values):.4f} max {max(values):.4f}")


if __name__ == "__main__":
    main()
