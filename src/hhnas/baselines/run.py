"""``run_baseline``: select on train/val, then score the test split exactly once."""

from __future__ import annotations

import sys
import time
from typing import Any

from hhnas.baselines import evaluation
from hhnas.baselines.data import DevData, load_splits
from hhnas.baselines.evaluation import BaselineResult, Selection
from hhnas.config import Search, Training
from hhnas.config.sections import Comparison, comparison_section

BASELINES: tuple[str, ...] = ("tfidf-lr", "linking-argmax", "model1-default")


def _select(
    name: str,
    dev: DevData,
    comparison: Comparison,
    search: Search,
    training: Training,
    seed: int,
    threads: int,
) -> Selection:
    """Model selection on train/val. Imports are local: only tfidf-lr needs scikit-learn and
    only model1-default needs torch."""
    if name == "tfidf-lr":
        from hhnas.baselines.tfidf import select_tfidf

        return select_tfidf(dev, comparison, seed, threads)
    if name == "linking-argmax":
        from hhnas.baselines.linking_argmax import select_linking

        return select_linking(dev, comparison)
    from hhnas.baselines.model1 import select_model1

    return select_model1(dev, search, training, seed)


def run_baseline(
    name: str, inputs: dict[str, str], cfg: dict[str, Any], seed: int, threads: int = 1
) -> BaselineResult:
    """Run one baseline on the dataset behind ``inputs`` (rows, classes, llm, linking, backbone).

    ``cfg`` is the whole workflow config, parsed here into the sections the baselines read
    (``comparison``: tfidf_c_grid, linking_channel; ``search``; ``training``); ``threads`` only
    parallelises the TF-IDF C grid and does not change any result. Accuracies are fractions in
    [0, 1].
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; allowed: {', '.join(BASELINES)}")
    start = time.perf_counter()
    comparison = comparison_section(cfg)
    search = Search.from_mapping(cfg["search"])
    training = Training.from_mapping(cfg["training"])
    dev, test = load_splits(inputs)
    selection = _select(name, dev, comparison, search, training, seed, threads)
    select_seconds = time.perf_counter() - start
    # Called through the module so that tests can count the calls.
    test_acc = evaluation.score_test(selection, test)
    seconds = time.perf_counter() - start
    print(
        f"{name}: selected {selection.selected} val {selection.val_acc:.4f} "
        f"test {test_acc:.4f} ({seconds:.1f}s)",
        file=sys.stderr,
        flush=True,
    )
    return {
        "name": name,
        "val_acc": float(selection.val_acc),
        "test_acc": test_acc,
        "seconds": round(seconds, 3),
        "select_seconds": round(select_seconds, 3),
        "selected": selection.selected,
        "seed": int(seed),
        "n_train": int(len(dev.rows("train"))),
        "n_val": int(len(dev.rows("val"))),
        "n_test": int(len(test.rows)),
        "n_classes": int(dev.n_classes),
        "details": selection.details,
    }
