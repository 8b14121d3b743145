"""Load per-candidate metrics JSON files into one tidy DataFrame."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hhnas.io import read_json
from hhnas.records import Metrics

BASE_COLUMNS = [
    "dataset",
    "experiment",
    "iteration",
    "model",
    "status",
    "val_acc",
    "test_acc",
    "best_epoch",
    "seconds",
    "n_params",
    "error",
    "mutated",
]
REQUIRED_KEYS = ["dataset", "experiment", "iteration", "model", "status", "val_acc", "test_acc"]
STATUSES = {"ok", "failed"}
SORT_KEYS = ["dataset", "experiment", "iteration"]


def load_metrics(paths: list[str]) -> pd.DataFrame:
    """One row per metrics file, sorted by dataset, experiment, iteration.

    Columns are BASE_COLUMNS followed by every ``params`` key (sorted by name) as its own
    column; ``mutated`` is the list of mutated parameter names joined with ``,``.
    Every error names the offending file, so a bad file among hundreds is easy to find.
    """
    records = [_record(str(path)) for path in paths]
    param_keys = sorted({key for rec, _ in records for key in rec["params"]})
    rows = [_flatten(rec, param_keys, path) for rec, path in records]
    df = pd.DataFrame(rows, columns=BASE_COLUMNS + param_keys + ["_path"])
    _check_duplicates(df)
    df = df.sort_values(SORT_KEYS, kind="mergesort").drop(columns="_path")
    return _coerce_types(df.reset_index(drop=True))


def read_metrics_file(path: str, required: Sequence[str]) -> dict[str, Any]:
    """A metrics file's JSON object, checked to hold the ``required`` keys, and its
    experiment, iteration and model to be integers; every error names the file."""
    # read_json already names the file for missing / truncated files.
    data = read_json(path)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: metrics file must hold a JSON object, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{path}: metrics file lacks key(s) {', '.join(missing)}")
    _check_integers(data, path)
    return data


def _record(path: str) -> tuple[Metrics, str]:
    data = read_metrics_file(path, REQUIRED_KEYS)
    if data["status"] not in STATUSES:
        raise ValueError(
            f"{path}: status must be one of {sorted(STATUSES)}, got {data['status']!r}"
        )
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise TypeError(f"{path}: 'params' must be a JSON object")
    _check_accuracies(data, path)
    return {**data, "params": params}, path


def _check_integers(data: Metrics, path: str) -> None:
    for key in ("experiment", "iteration", "model"):
        value = data[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{path}: {key} must be an integer, got {value!r}")


def _check_accuracies(data: Metrics, path: str) -> None:
    # Percentages written by mistake (e.g. 91.0) would silently become 9100 % in the tables.
    for key in ("val_acc", "test_acc"):
        value = data[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{path}: {key} must be a fraction in [0, 1], got {value!r}")


def _flatten(rec: Metrics, param_keys: list[str], path: str) -> dict[str, Any]:
    # A DataFrame row: a column per base key and per parameter of any file, of mixed types.
    clash = set(rec["params"]) & set(BASE_COLUMNS)
    if clash:
        raise ValueError(f"{path}: params key(s) {sorted(clash)} clash with metrics columns")
    row = {col: rec.get(col) for col in BASE_COLUMNS}
    mutated = rec.get("mutated") or []
    row["mutated"] = (
        ",".join(str(m) for m in mutated) if isinstance(mutated, list) else str(mutated)
    )
    row.update({key: rec["params"].get(key) for key in param_keys})
    row["_path"] = path
    return row


def _check_duplicates(df: pd.DataFrame) -> None:
    # Two files for the same search step means overlapping globs or a stale results dir.
    dup = df[df.duplicated(SORT_KEYS, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        same = dup[(dup[SORT_KEYS] == first[SORT_KEYS]).all(axis=1)]["_path"].tolist()
        raise ValueError(
            f"duplicate metrics for dataset={first['dataset']} experiment={first['experiment']} "
            f"iteration={first['iteration']}: {', '.join(same)}"
        )


def _coerce_types(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("experiment", "iteration", "model"):
        df[col] = df[col].astype("int64")
    for col in ("val_acc", "test_acc", "seconds"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    # Failed candidates have no best epoch / parameter count: keep them as <NA>, not NaN floats.
    for col in ("best_epoch", "n_params"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    return df
