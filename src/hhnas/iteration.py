"""One search iteration as one job: previous state -> propose -> train -> observe -> new state."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from hhnas import faults
from hhnas.data.prepare import read_dataset
from hhnas.io import read_json, write_json
from hhnas.objective import objective
from hhnas.search.state import config_hash, file_fingerprint, load_state, save_state
from hhnas.search.strategy import make_strategy
from hhnas.training.candidate import train_candidate
from hhnas.training.data import FeatureSet, build_feature_set

METRICS_VERSION = 1


def search_config_hash(config: dict[str, Any], dataset: str) -> str:
    """Everything that changes a search's outcome; the run length (iterations, experiments) is
    left out so that a finished search can be extended and resumed."""
    search = {k: v for k, v in config["search"].items() if k not in ("iterations", "experiments")}
    return config_hash(
        search,
        config["training"],
        config["backbone"],
        config["llm"],
        config["datasets"][dataset],
        config["data"].get("split"),
        config["data"].get("split_seed"),
    )


def experiment_seed(config: dict[str, Any], experiment: int) -> int:
    return int(config["search"]["seed"]) * 1000 + experiment


def _feature_set(inputs: dict[str, str], with_backbone: bool) -> FeatureSet:
    rows = read_dataset(inputs["rows"])
    return build_feature_set(
        [r["split"] for r in rows],
        [r["label"] for r in rows],
        len(read_json(inputs["classes"])["classes"]),
        np.load(inputs["backbone"]) if with_backbone else None,
        np.load(inputs["llm"]),
        np.load(inputs["rule"]),
    )


def run_iteration(
    config: dict[str, Any],
    dataset: str,
    experiment: int,
    iteration: int,
    prev_state: str | None,
    inputs: dict[str, str],
    out_state: str,
    out_metrics: str,
    variant: str | None = None,
) -> dict[str, Any]:
    """``inputs``: rows, classes, llm, rule, and backbone (cached embeddings, frozen mode) or
    tokens + model (token cache and the backbone.json naming the encoder, fine-tuning mode).
    ``config["search"]`` is the variant's search config (hhnas.variants); strategies that keep
    files of their own (Optuna's study) keep them beside the state files."""
    job_start = time.perf_counter()
    strategy = make_strategy(config["search"], study_dir=os.path.dirname(out_state) or ".")
    cfg_hash = search_config_hash(config, dataset)
    seed = experiment_seed(config, experiment)
    ident = dict(
        strategy=strategy.name,
        cfg_hash=cfg_hash,
        dataset=dataset,
        experiment=experiment,
        fingerprint=file_fingerprint(inputs["rows"], inputs["classes"]),
    )
    if iteration == 0:
        state = strategy.initial_state(seed)
    else:
        if prev_state is None:
            raise ValueError(f"iteration {iteration} needs the state of iteration {iteration - 1}")
        state = load_state(prev_state, iteration=iteration - 1, **ident)
    candidate, state = strategy.propose(state)
    if candidate["iteration"] != iteration:
        raise RuntimeError(f"state proposes iteration {candidate['iteration']}, not {iteration}")

    finetune = config["backbone"]["mode"] == "finetune"
    fs = _feature_set(inputs, with_backbone=not finetune)
    # Where the job ran: a cluster's job id and the GPUs it was given (the SLURM test reads them).
    placement = {k: os.environ.get(k, "") for k in ("SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES")}
    print(" ".join(f"{k}={v}" for k, v in placement.items()), file=sys.stderr)
    print(
        f"[{dataset} exp{experiment} iter{iteration}] model M{candidate['model']} "
        f"params {candidate['params']} mutated {sorted(candidate['mutated'])}",
        file=sys.stderr,
    )
    from hhnas.training import loop

    loop.LOSS_HOOK = faults.loss_hook(dataset, variant or strategy.name, experiment, iteration)
    train_seed = seed * 100_003 + iteration
    progress = lambda msg: print(f"  {msg}", file=sys.stderr)  # noqa: E731
    if finetune:
        # Imported here: the frozen path must not pay for transformers' import.
        from hhnas.training.finetune import TokenCache, train_finetune_candidate

        result = train_finetune_candidate(
            candidate["macro"],
            candidate["params"],
            fs,
            TokenCache.load(inputs["tokens"]),
            read_json(inputs["model"])["path"],
            config["training"],
            config["backbone"],
            seed=train_seed,
            progress=progress,
        )
    else:
        result = train_candidate(
            candidate["macro"],
            candidate["params"],
            fs,
            config["training"],
            seed=train_seed,
            progress=progress,
        )
    # A failed candidate earns 0: the search learns to avoid that region.
    score = objective(result, config["search"])
    state = strategy.observe(state, candidate, score["objective"])
    metrics = {
        "version": METRICS_VERSION,
        "variant": variant or strategy.name,
        "strategy": strategy.name,
        "dataset": dataset,
        "experiment": experiment,
        "iteration": iteration,
        "model": candidate["model"],
        "macro": candidate["macro"],
        "params": candidate["params"],
        "mutated": sorted(candidate["mutated"]),
        **result,
        **score,
        # The whole job after the interpreter started: state I/O, strategy, data, training.
        "job_seconds": round(time.perf_counter() - job_start, 3),
    }
    write_json(out_metrics, metrics)
    save_state(out_state, state, **ident)
    print(
        f"[{dataset} exp{experiment} iter{iteration}] {result['status']} "
        f"val {result['val_acc']:.4f} test {result['test_acc']:.4f} "
        f"({result['seconds']:.1f}s)",
        file=sys.stderr,
    )
    return metrics
