"""Read labelled questions (and database schemas, where there are any) from disk."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any


def _need(path: Path, key: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: not found. Set config key `{key}` to the directory holding it "
            "(Spider: questions.jsonl and tables.json, see README 'Data')."
        )
    return path


def load_spider(
    spider_dir: str | os.PathLike, splits: list[str], key: str = "data.spider_dir"
) -> tuple[list[dict[str, str]], dict[str, dict[str, list[str]]]]:
    """Questions of the given Spider splits as {text, label}, and each database's schema."""
    root = Path(spider_dir)
    qpath = _need(root / "questions.jsonl", key)
    tpath = _need(root / "tables.json", key)
    rows: list[dict[str, str]] = []
    with open(qpath, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{qpath}:{lineno}: not valid JSON ({exc.msg})") from None
            if item.get("split") in splits:
                rows.append({"text": item["question"], "label": item["db_id"]})
    with open(tpath, encoding="utf-8") as fh:
        tables = json.load(fh)
    schemas = {t["db_id"]: schema_of(t) for t in tables}
    return rows, schemas


def schema_of(db: dict[str, Any]) -> dict[str, list[str]]:
    """Natural table and column names; Spider's `*` pseudo-column is dropped."""
    return {
        "tables": list(db["table_names"]),
        "columns": [name for tidx, name in db["column_names"] if tidx >= 0],
    }


def load_csv(path: str | os.PathLike, text_column: str, label_column: str) -> list[dict[str, str]]:
    """A plain `text,label` CSV: a dataset without schemas (rule features are then zero)."""
    p = _need(Path(path), "datasets.<name>.path")
    with open(p, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{p}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        return [{"text": r[text_column], "label": r[label_column]} for r in reader]
