"""Stage 1: from raw files to `dataset.jsonl` (id, text, label, split) and `classes.json`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hhnas.data.loaders import load_csv, load_spider
from hhnas.data.split import filter_classes, stratified_split
from hhnas.io import write_json, write_text


def build_dataset(name: str, ds_cfg: dict[str, Any], data_cfg: dict[str, Any]) -> dict[str, Any]:
    """Rows with splits, the class list (with schemas when known) and the counts."""
    fmt = ds_cfg.get("format", "spider")
    if fmt == "spider":
        raw, schemas = load_spider(
            ds_cfg.get("spider_dir", data_cfg["spider_dir"]), ds_cfg["splits"]
        )
    elif fmt == "csv":
        raw = load_csv(
            ds_cfg["path"], ds_cfg.get("text_column", "text"), ds_cfg.get("label_column", "label")
        )
        schemas = {}
    else:
        raise ValueError(f"datasets.{name}.format must be 'spider' or 'csv', got {fmt!r}")
    n_raw = len(raw)
    raw = [r for r in raw if r["text"] and r["text"].strip()]
    n_empty = n_raw - len(raw)
    rows, classes = filter_classes(
        raw,
        int(ds_cfg["min_questions_per_class"]),
        ds_cfg.get("max_questions_per_class"),
        seed=int(data_cfg["split_seed"]),
    )
    if len(classes) < 2:
        raise ValueError(
            f"datasets.{name}: only {len(classes)} class(es) have at least "
            f"min_questions_per_class={ds_cfg['min_questions_per_class']} rows; lower it"
        )
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[r["label"]] for r in rows]
    parts = stratified_split(labels, data_cfg["split"], int(data_cfg["split_seed"]))
    records = [
        {"id": i, "text": r["text"].strip(), "label": y, "split": s}
        for i, (r, y, s) in enumerate(zip(rows, labels, parts, strict=True))
    ]
    split_counts = Counter(parts)
    counts = {
        "dataset": name,
        "rows_raw": n_raw,
        "rows_dropped_empty": n_empty,
        "classes_raw": len({r["label"] for r in raw}),
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
