"""``model1-default``: the paper's Model 1 (backbone head only, macro [1, 0, 0]) with the search
space's initial micro parameters, trained once by ``train_candidate``; no search.

Its score, as for every search candidate, is the best validation epoch and the test accuracy at
that epoch. ``train_candidate`` evaluates both splits after every epoch, so the epoch is chosen
in a first run whose test split is withheld (the test rows are dropped from its feature set, so
neither their inputs nor their labels reach it). Scoring the test split reruns the same training
(same seed, CPU, one thread: bit-identical) with the test rows in, checks that every epoch's
validation accuracy is unchanged, and reads the test accuracy of the chosen epoch. Model 1 trains
in about a second on Spider, so the second run is cheap.
"""

from __future__ import annotations

import sys

import numpy as np

from hhnas.baselines.data import DevData, TestSplit
from hhnas.baselines.evaluation import Selection
from hhnas.config import Search, Training
from hhnas.records import Params, TrainResult
from hhnas.search.space import space_from_config
from hhnas.training.candidate import train_candidate
from hhnas.training.data import FeatureSet, build_feature_set

MACRO = [1, 0, 0]
WITHHELD = "withheld"  # split name the selection run gives test rows: in no split of the model


def _train(fs: FeatureSet, params: Params, training: Training, seed: int) -> TrainResult:
    result = train_candidate(
        MACRO,
        params,
        fs,
        training,
        seed,
        progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True),
    )
    if result["status"] != "ok":
        raise RuntimeError(f"model1-default failed to train: {result['error']}")
    return result


def select_model1(dev: DevData, search: Search, training: Training, seed: int) -> Selection:
    params = dict(space_from_config(search.raw).initial)
    arrays = {k: dev.feature(k) for k in ("backbone", "llm", "linking")}
    test_mask = dev.splits == "test"
    print(f"model1-default: macro {MACRO} params {params} seed {seed}", file=sys.stderr)
    # Standardisation uses training rows only, so dropping test rows changes no other row.
    dev_fs = build_feature_set(
        np.where(test_mask, WITHHELD, dev.splits).tolist(),
        dev.labels.tolist(),
        dev.n_classes,
        **arrays,
    )
    chosen = _train(dev_fs, params, training, seed)
    val_curve = [e["val_acc"] for e in chosen["epochs"]]

    def scorer(test: TestSplit) -> float:
        labels = dev.labels.copy()
        labels[test.rows] = test.labels
        full = build_feature_set(dev.splits.tolist(), labels.tolist(), dev.n_classes, **arrays)
        print("model1-default: same training with the test split in", file=sys.stderr)
        rerun = _train(full, params, training, seed)
        if [e["val_acc"] for e in rerun["epochs"]] != val_curve:
            raise RuntimeError(
                "model1-default: the rerun's validation accuracies differ from the selection "
                "run's; training is not reproducible, so its test accuracy would not belong to "
                "the chosen epoch"
            )
        return float(rerun["epochs"][chosen["best_epoch"] - 1]["test_acc"])

    return Selection(
        selected={"macro": MACRO, "params": params, "best_epoch": chosen["best_epoch"]},
        val_acc=float(chosen["val_acc"]),
        scorer=scorer,
        details={
            "model": 1,
            "n_params": chosen["n_params"],
            "val_by_epoch": val_curve,
            "train_seconds": chosen["seconds"],
        },
    )
