"""Class filtering and the stratified train/val/test split."""

from __future__ import annotations

import random
from collections import Counter, defaultdict


def filter_classes(
    rows: list[dict[str, str]], min_per_class: int, max_per_class: int | None = None, seed: int = 0
) -> tuple[list[dict[str, str]], list[str]]:
    """Keep classes with at least `min_per_class` rows (optionally subsample to `max_per_class`,
    for tiny test configs); classes are returned sorted by name, which fixes label ids."""
    counts = Counter(r["label"] for r in rows)
    classes = sorted(c for c, n in counts.items() if n >= min_per_class)
    keep = set(classes)
    kept = [r for r in rows if r["label"] in keep]
    if max_per_class:
        by_class: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in kept:
            by_class[r["label"]].append(r)
        rng = random.Random(seed)
        chosen: list[dict[str, str]] = []
        for c in classes:
            items = by_class[c]
            if len(items) > max_per_class:
                items = [items[i] for i in sorted(rng.sample(range(len(items)), max_per_class))]
            chosen.extend(items)
        kept = chosen
    return kept, classes


def stratified_split(labels: list[int], fractions: dict[str, float], seed: int) -> list[str]:
    """Assign each row to train/val/test, class by class, with a fixed seed.

    Per class of n rows: round(n*val) to val, round(n*test) to test, the rest to train, so every
    class appears in every part when n is large enough (min_questions_per_class guards that).
    """
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, y in enumerate(labels):
        by_class[y].append(i)
    out = ["train"] * len(labels)
    for y in sorted(by_class):
        idx = by_class[y]
        rng.shuffle(idx)
        n_val = round(len(idx) * fractions["val"])
        n_test = round(len(idx) * fractions["test"])
        for i in idx[:n_val]:
            out[i] = "val"
        for i in idx[n_val : n_val + n_test]:
            out[i] = "test"
    return out
