"""Class filtering and the stratified train/val/test split, question by question or group by
group (`data.split.group_by`)."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

PARTS = ("train", "val", "test")


def filter_classes(
    rows: list[dict[str, str]], min_per_class: int, max_per_class: int | None = None, seed: int = 0
) -> tuple[list[dict[str, str]], list[str]]:
    """Keep classes with at least `min_per_class` rows (optionally subsample to `max_per_class`,
    for tiny test configs); classes are returned sorted by name, which fixes label ids.

    Rule: a class with fewer rows than `min_per_class` is dropped with all its rows;
    build_dataset counts them (classes_dropped_small, rows_dropped_small_class) and, unless the
    dataset carries its own split (`split_column`), first checks with `min_class_size` that
    `min_per_class` is large enough for the split fractions. Subsampling ignores any split the
    rows carry.
    """
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
    class appears in every part when n is large enough: build_dataset stops unless every kept
    class has at least `min_class_size(fractions)` rows (see `part_sizes`).
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


def part_sizes(n: int, fractions: dict[str, float]) -> tuple[int, int, int]:
    """(train, val, test) sizes that `stratified_split` gives a class of `n` rows."""
    n_val = round(n * fractions["val"])
    n_test = round(n * fractions["test"])
    return n - n_val - n_test, n_val, n_test


def min_class_size(fractions: dict[str, float]) -> int | None:
    """The smallest m such that every class of m or more rows gets at least one row in each of
    train, val and test under `stratified_split`; None when no class size does (val or test
    fraction 0, or val + test >= 1).

    Beyond n > max(0.5/val, 0.5/test, 1/(1 - val - test)) every part is non-empty (round(x) >= 1
    for x > 0.5, and train >= n(1 - val - test) - 1 > 0), so only the sizes up to that bound
    are tried; the answer is one past the largest size that fails.
    """
    val, test = float(fractions["val"]), float(fractions["test"])
    if val <= 0 or test <= 0 or val + test >= 1:
        return None
    bound = math.ceil(max(0.5 / val, 0.5 / test, 1 / (1 - val - test))) + 1
    failing = [n for n in range(1, bound + 1) if min(part_sizes(n, fractions)) < 1]
    return max(failing, default=0) + 1


def split_fractions(split: Mapping[str, Any]) -> dict[str, float]:
    """The train/val/test fractions of `data.split`, without its other keys (group_by)."""
    return {p: float(split[p]) for p in PARTS}


def group_ids(keys: Sequence[Hashable]) -> list[int]:
    """Each row's group as 0, 1, 2, ... in order of first appearance."""
    ids: dict[Hashable, int] = {}
    return [ids.setdefault(k, len(ids)) for k in keys]


def stratified_group_split(
    labels: Sequence[int], groups: Sequence[Hashable], fractions: Mapping[str, float], seed: int
) -> list[str]:
    """Assign each row to train/val/test so that all rows of one group share a part, each
    class's rows as close to `fractions` as its groups allow; deterministic for a fixed seed.

    Each group belongs to its majority class (ties: the smallest label). Class by class (sorted,
    one random.Random(seed) for all), its groups are shuffled, then sorted largest first (stable,
    by the group's row count), and each goes whole to the part with the largest deficit
    target - current in rows of that class (target = the class's rows x the fraction). Ties go
    to the part with the largest deficit over the whole dataset (all rows x the fraction, minus
    the rows assigned so far), then in the order train, val, test: val and test have equal
    fractions, so their class deficits tie often, and a fixed order alone would send each such
    tie to val (Spider, `spider`: val 15.3 %, test 14.4 % instead of 14.9 % each). A group's
    rows of other classes go with it and count towards those classes' parts.

    Largest first, then the small groups fill what is left: with Spider's groups of one to a
    few questions this meets each class's fractions to within a row or two. scikit-learn's
    StratifiedGroupKFold (the issue's example) cannot: its folds hold 1/k of the rows each, so
    15 % is out of reach (k = 7 gives 14.3 %). No part is guaranteed non-empty: the caller
    checks.
    """
    if len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels but {len(groups)} groups; one group per row")
    rows_of: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        rows_of.setdefault(g, []).append(i)
    class_rows = Counter(labels)
    by_class: dict[int, list[Hashable]] = defaultdict(list)
    for g, idx in rows_of.items():
        votes = Counter(labels[i] for i in idx)
        top = max(votes.values())
        by_class[min(y for y, n in votes.items() if n == top)].append(g)
    overall = {p: len(labels) * float(fractions[p]) for p in PARTS}
    assigned: Counter[str] = Counter()
    current: dict[int, Counter[str]] = defaultdict(Counter)
    rng = random.Random(seed)
    out = [""] * len(labels)
    for y in sorted(by_class):
        gs = by_class[y]
        rng.shuffle(gs)
        gs.sort(key=lambda g: -len(rows_of[g]))
        target = {p: class_rows[y] * float(fractions[p]) for p in PARTS}
        for g in gs:
            deficit = {p: (target[p] - current[y][p], overall[p] - assigned[p]) for p in PARTS}
            part = max(PARTS, key=deficit.__getitem__)  # the first of equals: train, val, test
            for i in rows_of[g]:
                out[i] = part
                current[labels[i]][part] += 1
                assigned[part] += 1
    return out
