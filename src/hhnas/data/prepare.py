"""Stage 1: from raw files to `dataset.jsonl` (id, text, label, split) and `classes.json`.

Bad input follows one rule per case (docs/algorithm.md, "Bad input data"): malformed files stop
in `hhnas.data.loaders` with a `DataError` naming file and line; rows that are merely unusable
are dropped here and counted in counts.json, which the report's dataset notes show.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hhnas.data.loaders import load_csv, load_spider
from hhnas.data.split import filter_classes, min_class_size, part_sizes, stratified_split
from hhnas.io import write_json, write_text

# How many unknown db_ids counts.json (and so the report) names.
N_UNKNOWN_NAMED = 5


def build_dataset(name: str, ds_cfg: dict[str, Any], data_cfg: dict[str, Any]) -> dict[str, Any]:
    """Rows with splits, the class list (with schemas when known) and the counts.

    Rules, in this order (counts.json keys in brackets):
    1. a question that is empty or only whitespace is dropped [rows_dropped_empty];
    2. Spider format: a question whose db_id has no entry in tables.json is dropped, since the
       rule features need its schema [rows_dropped_unknown_db; the first few ids in
       unknown_db_ids, how many distinct in classes_unknown_db];
    3. a class with fewer than `min_questions_per_class` rows is dropped with its rows
       [classes_dropped_small, rows_dropped_small_class]; `max_questions_per_class` subsamples
       the rest [rows_dropped_max_per_class]. Before any data is read, a ValueError stops the
       run unless every kept class is large enough for the split fractions to give it at least
       one train, val and test row; it names the config key and the smallest value that works;
    4. rows with the same question text and label as an earlier kept row are KEPT, not dropped
       (Spider itself repeats some questions; dropping them would change the published split)
       and counted [rows_duplicate_text].
    rows_raw = rows_dropped_empty + rows_dropped_unknown_db + rows_dropped_small_class
    + rows_dropped_max_per_class + rows.
    """
    min_pc = int(ds_cfg["min_questions_per_class"])
    max_pc = ds_cfg.get("max_questions_per_class")
    check_class_size(name, min_pc, max_pc, data_cfg["split"])
    fmt = ds_cfg.get("format", "spider")
    if fmt == "spider":
        raw, schemas = load_spider(
            ds_cfg.get("spider_dir", data_cfg["spider_dir"]), ds_cfg["splits"]
        )
    elif fmt == "csv":
        raw = load_csv(
            ds_cfg["path"],
            ds_cfg.get("text_column", "text"),
            ds_cfg.get("label_column", "label"),
            ds_cfg.get("id_column"),
        )
        schemas = {}
    else:
        raise ValueError(f"datasets.{name}.format must be 'spider' or 'csv', got {fmt!r}")
    n_raw = len(raw)
    raw = [r for r in raw if r["text"] and r["text"].strip()]
    n_empty = n_raw - len(raw)
    unknown: Counter[str] = Counter()
    if fmt == "spider":
        unknown = Counter(r["label"] for r in raw if r["label"] not in schemas)
        raw = [r for r in raw if r["label"] in schemas]
    per_class = Counter(r["label"] for r in raw)
    small = {c: n for c, n in per_class.items() if n < min_pc}
    rows, classes = filter_classes(raw, min_pc, max_pc, seed=int(data_cfg["split_seed"]))
    if len(classes) < 2:
        raise ValueError(
            f"datasets.{name}: only {len(classes)} class(es) have at least "
            f"min_questions_per_class={ds_cfg['min_questions_per_class']} rows; lower it"
        )
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[r["label"]] for r in rows]
    parts = stratified_split(labels, data_cfg["split"], int(data_cfg["split_seed"]))
    _check_every_part(name, classes, labels, parts)
    records = [
        {"id": i, "text": r["text"].strip(), "label": y, "split": s}
        for i, (r, y, s) in enumerate(zip(rows, labels, parts, strict=True))
    ]
    text_label = Counter((r["text"], r["label"]) for r in records)
    split_counts = Counter(parts)
    counts = {
        "dataset": name,
        "rows_raw": n_raw,
        "rows_dropped_empty": n_empty,
        "rows_dropped_unknown_db": sum(unknown.values()),
        "classes_unknown_db": len(unknown),
        "unknown_db_ids": list(unknown)[:N_UNKNOWN_NAMED],
        "classes_raw": len(per_class),
        "classes_dropped_small": len(small),
        "rows_dropped_small_class": sum(small.values()),
        "rows_dropped_max_per_class": len(raw) - sum(small.values()) - len(rows),
        "rows_duplicate_text": sum(n - 1 for n in text_label.values()),
        "classes": len(classes),
        "rows": len(records),
        "train": split_counts["train"],
        "val": split_counts["val"],
        "test": split_counts["test"],
    }
    return {
        "records": records,
        "classes": {"classes": classes, "schemas": [schemas.get(c) for c in classes]},
        "counts": counts,
    }


def check_class_size(
    name: str, min_pc: int, max_pc: int | None, fractions: dict[str, float]
) -> None:
    """Stop unless every class kept (min_pc rows or more, cut to max_pc) gets at least one row
    in each of train, val and test."""
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
    built: dict[str, Any], rows_path: str, classes_path: str, counts_path: str
) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in built["records"])
    write_text(rows_path, lines)
    write_json(classes_path, built["classes"])
    write_json(counts_path, built["counts"])


def read_dataset(rows_path: str) -> list[dict[str, Any]]:
    with open(rows_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
