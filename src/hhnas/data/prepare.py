"""Stage 1: from raw files to `dataset.jsonl` (id, text, label, split) and `classes.json`.

Bad input follows one rule per case (docs/algorithm.md, "Bad input data"): malformed files stop
in `hhnas.data.loaders` with a `DataError` naming file and line; rows that are merely unusable
are dropped here and counted in counts.json, which the report's dataset notes show.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from hhnas.config.sections import dataset_spec
from hhnas.data.loaders import SPLIT_VALUES, Question, load_csv, load_spider
from hhnas.data.split import (
    filter_classes,
    group_ids,
    min_class_size,
    part_sizes,
    split_fractions,
    stratified_group_split,
    stratified_split,
)
from hhnas.io import write_json, write_text
from hhnas.records import Classes, DatabaseSchema, DatasetGroups, DatasetRow

# How many unknown db_ids counts.json (and so the report) names.
N_UNKNOWN_NAMED = 5
# How many classes (largest first) the "fewer than 2 classes" error lists with their sizes.
N_CLASS_SIZES_NAMED = 5
# The config schema's minimum for min_questions_per_class (config/schema/config.schema.yaml).
MIN_QUESTIONS_FLOOR = 3


class Counts(TypedDict):
    """A dataset's counts.json: what each rule of :func:`build_dataset` kept and dropped. The
    keys of a rule not in use are absent, so that the file stays as earlier runs wrote it."""

    dataset: str
    rows_raw: int
    rows_dropped_empty: int
    rows_dropped_unknown_db: int
    classes_unknown_db: int
    unknown_db_ids: list[str]
    classes_raw: int
    classes_dropped_small: int
    rows_dropped_small_class: int
    rows_dropped_max_per_class: int
    rows_duplicate_text: int
    classes: int
    rows: int
    train: int
    val: int
    test: int
    split_source: NotRequired[str]
    rows_dropped_max_train_per_class: NotRequired[int]
    rows_dropped_excluded_label: NotRequired[int]
    excluded_labels: NotRequired[dict[str, int]]
    merged_classes: NotRequired[dict[str, list[str]]]
    split_group_by: NotRequired[str]
    groups: NotRequired[int]
    groups_multi_class: NotRequired[int]
    split_fractions: NotRequired[dict[str, float]]


class BuiltDataset(TypedDict):
    """What :func:`write_dataset` writes: dataset.jsonl's rows, classes.json, counts.json,
    groups.json."""

    records: list[DatasetRow]
    classes: Classes
    counts: Counts
    groups: DatasetGroups


def build_dataset(name: str, ds_cfg: dict[str, Any], data_cfg: dict[str, Any]) -> BuiltDataset:
    """Rows with splits, the class list (with schemas when known) and the counts. ``ds_cfg``
    is `datasets.<name>` (read as a :class:`hhnas.config.sections.Dataset`), ``data_cfg`` the
    `data` section.

    Rules, in this order (counts.json keys in brackets):
    1. a question that is empty or only whitespace is dropped [rows_dropped_empty];
    2. Spider format: a question whose db_id has no entry in tables.json is dropped, since the
       schema-linking features need its schema [rows_dropped_unknown_db; the first few ids in
       unknown_db_ids, how many distinct in classes_unknown_db];
    3. a ValueError stops the run if no row is left, or if every row left has one class
       (classification needs at least 2, whatever min_questions_per_class is); a class with
       fewer than `min_questions_per_class` rows is dropped with its rows
       [classes_dropped_small, rows_dropped_small_class], and fewer than 2 classes left is a
       ValueError that advises lowering min_questions_per_class only when a valid lower value
       keeps 2 classes; `max_questions_per_class` subsamples the rest, deterministically with
       data.split_seed [rows_dropped_max_per_class];
    4. the split [train, val, test; split_source]: without `split_column`, `stratified_split`
       with data.split and data.split_seed [no split_source key]. Before any data is read, a
       ValueError stops the run unless every kept class is large enough for the split
       fractions to give it at least one train, val and test row; it names the config key and
       the smallest value that works. With data.split.group_by "query", the split is
       `stratified_group_split` instead, which keeps each group (Spider: one SQL query,
       normalised; CSV: one value of `group_column`) in one part; a kept class without a
       train, val or test row is then a ValueError naming its rows and groups [split_group_by,
       groups, groups_multi_class, split_fractions: the achieved row shares]. With
       `split_column` (CSV only), each row keeps the split the CSV gives it
       ["column:<name>"]; data.split is not used (group_by with it is a ValueError), and
       max_questions_per_class subsamples a class across its published split (train, val and
       test rows alike). A kept class without a train, val or test row in that split is a
       ValueError naming the class and the part. Rows of `exclude_labels` are left out first
       [rows_dropped_excluded_label, excluded_labels];
    5. rows with the same question text and label as an earlier kept row are KEPT, not dropped
       (Spider itself repeats some questions; dropping them would change the published split)
       and counted [rows_duplicate_text];
    2b. `merge_similar_schemas` (Spider format): databases whose table and column names have
       at least that Jaccard similarity are merged into one class (merge_similar_classes)
       before the class-size rule [merged_classes: label -> its databases, only when set];
    6. `max_train_per_class` keeps at most that many training rows of each class, drawn with
       data.split_seed after the split; validation and test rows are untouched (a data-poor
       variant of a dataset, same evaluation) [rows_dropped_max_train_per_class, only when set].
    Every dataset also gets its groups (groups.json, :class:`DatasetGroups`): Spider's
    normalised `query` where every kept question has one, a CSV's `group_column` where set,
    else none.
    rows_raw = rows_dropped_empty + rows_dropped_unknown_db + rows_dropped_small_class
    + rows_dropped_max_per_class (+ rows_dropped_max_train_per_class) + rows.
    """
    spec = dataset_spec(name, ds_cfg)
    min_pc = spec.min_questions_per_class
    max_pc = spec.max_questions_per_class
    split_column = spec.split_column
    fmt = spec.format
    fractions = split_fractions(data_cfg["split"])
    group_by = data_cfg["split"].get("group_by")
    if split_column is not None and fmt != "csv":
        raise ValueError(
            f"datasets.{name}.split_column is only for format 'csv', got format {fmt!r}; remove "
            "it (a Spider dataset is split by data.split)"
        )
    check_group_by(name, fmt, split_column, spec.group_column, group_by)
    if split_column is None:
        check_class_size(name, min_pc, max_pc, fractions)
    if fmt == "spider":
        spider_dir = data_cfg["spider_dir"] if spec.spider_dir is None else spec.spider_dir
        source = f"{Path(spider_dir) / 'questions.jsonl'}"
        raw, schemas = load_spider(spider_dir, list(spec.splits))
    elif fmt == "csv":
        source = f"{spec.path}"
        raw = load_csv(
            spec.path,
            spec.text_column,
            spec.label_column,
            spec.id_column,
            split_column,
            spec.exclude_labels,
            spec.group_column,
        )
        schemas = {}
    else:
        raise ValueError(f"datasets.{name}.format must be 'spider' or 'csv', got {fmt!r}")
    n_raw = len(raw)
    excluded = _excluded(name, raw, spec.exclude_labels)
    raw = [r for r in raw if r["label"] not in excluded]
    n_raw_kept = len(raw)
    raw = [r for r in raw if r["text"] and r["text"].strip()]
    n_empty = n_raw_kept - len(raw)
    unknown: Counter[str] = Counter()
    if fmt == "spider":
        unknown = Counter(r["label"] for r in raw if r["label"] not in schemas)
        raw = [r for r in raw if r["label"] in schemas]
    merged: dict[str, list[str]] = {}
    if spec.merge_similar_schemas is not None:
        raw, schemas, merged = merge_similar_classes(
            raw, schemas, float(spec.merge_similar_schemas)
        )
    per_class = Counter(r["label"] for r in raw)
    if split_column is None:
        # check_class_size has passed, so some class size fills every part.
        floor = max(MIN_QUESTIONS_FLOOR, min_class_size(fractions) or 0)
        why = f"data.split {fractions} needs at least {floor} rows per class"
    else:
        floor = MIN_QUESTIONS_FLOOR
        why = f"the config schema's minimum is {floor}"
    n_unknown = sum(unknown.values())
    _check_classes(name, source, n_raw, n_empty, n_unknown, per_class, min_pc, floor, why)
    small = {c: n for c, n in per_class.items() if n < min_pc}
    rows, classes = filter_classes(raw, min_pc, max_pc, seed=int(data_cfg["split_seed"]))
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[r["label"]] for r in rows]
    if split_column is None and group_by is not None:
        keys = _group_keys(name, source, rows)
        parts = stratified_group_split(labels, keys, fractions, int(data_cfg["split_seed"]))
        _check_every_group_part(name, classes, labels, group_ids(keys), parts)
        split_source = None
    elif split_column is None:
        parts = stratified_split(labels, fractions, int(data_cfg["split_seed"]))
        _check_every_part(name, classes, labels, parts)
        split_source = None
    else:
        parts = [r["split"] for r in rows]
        subsampled = {c for c in classes if max_pc and per_class[c] > max_pc}
        _check_published_split(name, split_column, classes, labels, parts, subsampled, max_pc)
        split_source = f"column:{split_column}"
    n_before_cap = len(rows)
    max_train = spec.max_train_per_class
    if max_train is not None:
        rows, labels, parts = cap_train_rows(
            rows, labels, parts, int(max_train), int(data_cfg["split_seed"])
        )
    records: list[DatasetRow] = [
        {"id": i, "text": r["text"].strip(), "label": y, "split": s}
        for i, (r, y, s) in enumerate(zip(rows, labels, parts, strict=True))
    ]
    text_label = Counter((r["text"], r["label"]) for r in records)
    split_counts = Counter(parts)
    counts: Counts = {
        "dataset": name,
        "rows_raw": n_raw,
        "rows_dropped_empty": n_empty,
        "rows_dropped_unknown_db": n_unknown,
        "classes_unknown_db": len(unknown),
        "unknown_db_ids": list(unknown)[:N_UNKNOWN_NAMED],
        "classes_raw": len(per_class),
        "classes_dropped_small": len(small),
        "rows_dropped_small_class": sum(small.values()),
        "rows_dropped_max_per_class": len(raw) - sum(small.values()) - n_before_cap,
        "rows_duplicate_text": sum(n - 1 for n in text_label.values()),
        "classes": len(classes),
        "rows": len(records),
        "train": split_counts["train"],
        "val": split_counts["val"],
        "test": split_counts["test"],
    }
    # Only when used: counts.json of a dataset without them stays as earlier runs wrote it.
    if split_source:
        counts["split_source"] = split_source
    if max_train is not None:
        counts["rows_dropped_max_train_per_class"] = n_before_cap - len(rows)
    if excluded:
        counts["rows_dropped_excluded_label"] = sum(excluded.values())
        counts["excluded_labels"] = dict(excluded)
    if spec.merge_similar_schemas is not None:
        counts["merged_classes"] = merged
    groups = dataset_groups(fmt, spec.group_column, rows)
    if group_by is not None:
        assert groups["groups"] is not None  # _group_keys has checked that every row has one
        counts["split_group_by"] = group_by
        counts["groups"] = len(set(groups["groups"]))
        classes_of: dict[int, set[int]] = {}
        for g, y in zip(groups["groups"], labels, strict=True):
            classes_of.setdefault(g, set()).add(y)
        counts["groups_multi_class"] = sum(1 for ys in classes_of.values() if len(ys) > 1)
        counts["split_fractions"] = {
            p: round(split_counts[p] / len(records), 4) for p in SPLIT_VALUES
        }
    return {
        "records": records,
        "classes": {"classes": classes, "schemas": [schemas.get(c) for c in classes]},
        "counts": counts,
        "groups": groups,
    }


def check_group_by(
    name: str, fmt: str, split_column: str | None, group_column: str | None, group_by: str | None
) -> None:
    """The keys a grouped split needs, before any data is read (hhnas.config.checks says the
    same before any job): a CSV names its group column, and a published split stays as is."""
    if group_column is not None and fmt != "csv":
        raise ValueError(
            f"datasets.{name}.group_column is only for format 'csv', got format {fmt!r}; remove "
            "it (a Spider dataset's groups are its SQL queries)"
        )
    if group_by is None:
        return
    if split_column is not None:
        raise ValueError(
            f"datasets.{name}.split_column and data.split.group_by={group_by!r} both set: the "
            "published split is kept as published; remove one of them"
        )
    if fmt == "csv" and group_column is None:
        raise ValueError(
            f"data.split.group_by={group_by!r} needs the groups of CSV dataset {name!r}: set "
            f"datasets.{name}.group_column to the column whose rows must share a part, or set "
            "data.split.group_by: null"
        )


def _group_keys(name: str, source: str, rows: list[Question]) -> list[str]:
    """Each kept row's group; a Spider file whose lines lack `query` has none to split by."""
    missing = sum(1 for r in rows if "group" not in r)
    if missing:
        raise ValueError(
            f"datasets.{name}: data.split.group_by needs each question's SQL, but {missing} of "
            f"the {len(rows)} kept questions in {source} have no `query` key; add Spider's SQL "
            "as `query` to every line, or set data.split.group_by: null"
        )
    return [r["group"] for r in rows]


def dataset_groups(fmt: str, group_column: str | None, rows: list[Question]) -> DatasetGroups:
    """groups.json: each row's group id where the dataset has groups. A Spider dataset has them
    only when every row carries its `query` (a hand-made questions.jsonl may lack it)."""
    if fmt == "csv":
        source = None if group_column is None else f"column:{group_column}"
    else:
        source = "query" if all("group" in r for r in rows) else None
    if source is None:
        return {"source": None, "groups": None}
    return {"source": source, "groups": group_ids([r["group"] for r in rows])}


MERGE_SEPARATOR = "+"


def merge_similar_classes(
    rows: list[Question], schemas: dict[str, DatabaseSchema], threshold: float
) -> tuple[list[Question], dict[str, DatabaseSchema], dict[str, list[str]]]:
    """Databases whose schemas have Jaccard similarity >= ``threshold`` (transitively,
    hhnas.data.schemas) become one class named by its members in sorted order joined with "+",
    whose schema holds every member's tables and columns. Only databases with rows take part.
    Returns the relabelled rows, the schemas by label and the merged groups (label -> members).
    """
    from hhnas.data.schemas import merge_schemas, similar_groups, similarity_matrix

    names = sorted({r["label"] for r in rows})
    groups = similar_groups(similarity_matrix([schemas.get(n) for n in names]), threshold)
    members: dict[int, list[str]] = {}
    for name, g in zip(names, groups, strict=True):
        members.setdefault(g, []).append(name)
    label_of, out_schemas, merged = {}, dict(schemas), {}
    for group in members.values():
        label = MERGE_SEPARATOR.join(group)
        for name in group:
            label_of[name] = label
        if len(group) > 1:
            merged[label] = group
            out_schemas[label] = merge_schemas([schemas.get(n) for n in group])
    return [{**r, "label": label_of[r["label"]]} for r in rows], out_schemas, merged


def cap_train_rows(
    rows: list[Question], labels: list[int], parts: list[str], cap: int, seed: int
) -> tuple[list[Question], list[int], list[str]]:
    """At most `cap` training rows per class (a seeded draw, order kept); val/test untouched."""
    rng = random.Random(seed)
    drop: set[int] = set()
    for y in sorted(set(labels)):
        train = [
            i
            for i, (lab, part) in enumerate(zip(labels, parts, strict=True))
            if lab == y and part == "train"
        ]
        if len(train) > cap:
            keep = set(rng.sample(train, cap))
            drop.update(i for i in train if i not in keep)
    kept = [i for i in range(len(rows)) if i not in drop]
    return [rows[i] for i in kept], [labels[i] for i in kept], [parts[i] for i in kept]


def _check_classes(
    name: str,
    source: str,
    n_raw: int,
    n_empty: int,
    n_unknown: int,
    per_class: Counter[str],
    min_pc: int,
    floor: int,
    why: str,
) -> None:
    """Stop unless at least 2 classes have `min_pc` usable rows; the message says why not and
    the fix. Lowering min_questions_per_class is advised only when it helps: when the
    second-largest class has at least `floor` rows (the smallest valid value; `why` says why)."""
    if not per_class:
        dropped = f"{n_empty} with an empty question"
        if n_unknown:
            dropped += f" and {n_unknown} with a db_id missing from tables.json"
        raise ValueError(
            f"datasets.{name}: no usable rows in {source} ({n_raw} read, {dropped} dropped); "
            "add rows with a question and a class"
        )
    if len(per_class) == 1:
        ((c, n),) = per_class.items()
        raise ValueError(
            f"datasets.{name}: {source} has only one class: all {n} usable rows have class "
            f"{c!r}, and classification needs at least 2 classes; add rows of other classes"
        )
    kept = sum(1 for n in per_class.values() if n >= min_pc)
    if kept >= 2:
        return
    sizes = per_class.most_common()
    shown = ", ".join(f"{c!r}: {n}" for c, n in sizes[:N_CLASS_SIZES_NAMED])
    if len(sizes) > N_CLASS_SIZES_NAMED:
        shown += f" and {len(sizes) - N_CLASS_SIZES_NAMED} more"
    msg = (
        f"datasets.{name}: only {kept} of the {len(sizes)} classes in {source} have at least "
        f"min_questions_per_class={min_pc} rows (rows per class: {shown}); classification "
        "needs at least 2 classes. "
    )
    second = sizes[1][1]
    if second >= floor:
        n_keep = sum(1 for n in per_class.values() if n >= second)
        msg += (
            f"Lower datasets.{name}.min_questions_per_class to {second} to keep {n_keep} "
            "classes, or add rows to the small classes"
        )
    else:
        msg += (
            "Add rows to the small classes; min_questions_per_class cannot go below "
            f"{floor} ({why}), which leaves fewer than 2 classes"
        )
    raise ValueError(msg)


def _check_published_split(
    name: str,
    column: str,
    classes: list[str],
    labels: list[int],
    parts: list[str],
    subsampled: set[str],
    max_pc: int | None,
) -> None:
    """With `split_column`: every kept class has a train, a val and a test row in the CSV's own
    split (after max_questions_per_class subsampling), else a ValueError naming the class, the
    empty part(s) and the fix."""
    seen = {(y, s) for y, s in zip(labels, parts, strict=True)}
    for y, c in enumerate(classes):
        empty = [s for s in SPLIT_VALUES if (y, s) not in seen]
        if not empty:
            continue
        what = "/".join(empty)
        if c in subsampled:
            raise ValueError(
                f"datasets.{name}: the published split in column {column!r} gives class {c!r} "
                f"no {what} row after max_questions_per_class={max_pc} subsampling; raise or "
                f"remove datasets.{name}.max_questions_per_class, drop the class from the CSV "
                "or remove split_column to let data.split split it"
            )
        raise ValueError(
            f"datasets.{name}: the published split in column {column!r} gives class {c!r} no "
            f"{what} row; drop the class from the CSV or remove split_column to let data.split "
            "split it"
        )


def _excluded(name: str, raw: list[Question], labels: Sequence[str]) -> Counter[str]:
    """Rows of `exclude_labels`, per label; a label no row has is most likely a typo."""
    found = Counter(r["label"] for r in raw if r["label"] in set(labels))
    missing = [lab for lab in labels if lab not in found]
    if missing:
        raise ValueError(
            f"datasets.{name}.exclude_labels: no row has label(s) {missing}; check the spelling "
            "against the CSV's label column"
        )
    return found


def check_class_size(
    name: str, min_pc: int, max_pc: int | None, fractions: Mapping[str, Any]
) -> None:
    """Stop unless every class kept (min_pc rows or more, cut to max_pc) gets at least one row
    in each of train, val and test. ``fractions`` may be `data.split` whole: only its three
    fractions are read."""
    fractions = split_fractions(fractions)
    need = min_class_size(fractions)
    if need is None:
        raise ValueError(
            f"data.split: val={fractions['val']} and test={fractions['test']} leave no class "
            "a row in each of train, val and test; both must be > 0 and val + test < 1"
        )
    if min_pc < need:
        raise ValueError(
            f"datasets.{name}.min_questions_per_class={min_pc} is too small for the split "
            f"fractions {dict(fractions)}: a class of {min_pc} rows gets "
            f"(train, val, test) = {part_sizes(min_pc, fractions)} rows or, for some larger "
            f"size, an empty part. Set datasets.{name}.min_questions_per_class to at least "
            f"{need}"
        )
    if max_pc and max_pc < need:
        raise ValueError(
            f"datasets.{name}.max_questions_per_class={max_pc} is too small for the split "
            f"fractions {dict(fractions)}; set it to at least {need} (or remove it)"
        )


def _check_every_group_part(
    name: str, classes: list[str], labels: list[int], groups: list[int], parts: list[str]
) -> None:
    """Under data.split.group_by: every class is in train, val and test, else a ValueError
    naming each class short of a part, its rows and groups, and the fixes."""
    seen = {(y, s) for y, s in zip(labels, parts, strict=True)}
    short = []
    for y, c in enumerate(classes):
        empty = [s for s in SPLIT_VALUES if (y, s) not in seen]
        if empty:
            n_rows = sum(1 for lab in labels if lab == y)
            n_groups = len({g for g, lab in zip(groups, labels, strict=True) if lab == y})
            short.append(f"{c!r} ({n_rows} rows in {n_groups} groups: no {'/'.join(empty)} row)")
    if short:
        raise ValueError(
            f"datasets.{name}: data.split.group_by keeps each group in one part, which leaves "
            f"class(es) {', '.join(short)}; raise datasets.{name}.min_questions_per_class to "
            "drop classes of so few groups, or set data.split.group_by: null"
        )


def _check_every_part(name: str, classes: list[str], labels: list[int], parts: list[str]) -> None:
    """Safety net behind `check_class_size`: every class is in train, val and test."""
    seen = {(y, s) for y, s in zip(labels, parts, strict=True)}
    for y, c in enumerate(classes):
        empty = [s for s in ("train", "val", "test") if (y, s) not in seen]
        if empty:
            raise ValueError(
                f"datasets.{name}: class {c!r} has no {'/'.join(empty)} row after the split; "
                f"raise datasets.{name}.min_questions_per_class"
            )


def write_dataset(
    built: BuiltDataset, rows_path: str, classes_path: str, counts_path: str, groups_path: str
) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in built["records"])
    write_text(rows_path, lines)
    write_json(classes_path, built["classes"])
    write_json(counts_path, built["counts"])
    write_json(groups_path, built["groups"])


def read_dataset(rows_path: str) -> list[DatasetRow]:
    with open(rows_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
