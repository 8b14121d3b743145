"""Every evaluated candidate as one tidy table: ``results/candidates.csv``.

One row per finished search iteration, read from its ``metrics_<i>.json`` and, for the
experiment's seed, the ``state_<i>.json`` beside it. An iteration job writes its metrics file
first and its state file last (hhnas.jobs.iteration.run_iteration), so a metrics file without
its state file is a job that did not finish: it is left out, and the re-run will redo it.

Columns, in this order (``columns``):

* ``LEADING``: which search and which candidate, and its template;
* one column per search parameter, named as in the config's search space (``params`` of the
  metrics files; in the order of the first row's ``params``, then any name a later row adds);
* ``TRAILING``: what training the candidate gave, and where the row came from.

Each column's meaning and unit is in ``LEADING`` and ``TRAILING`` below; docs/candidates.md
shows the same list to users (tests/test_candidates.py keeps the two alike). Accuracies are
fractions in [0, 1], as in the metrics files; a failed candidate records 0.0 for both, the
score the search learned from, so filter on ``status`` before averaging. An empty cell is a
value the metrics file does not have (``n_params`` of a network that was never built).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from hhnas.io import read_json, write_text
from hhnas.reporting.captions import caption
from hhnas.reporting.metrics import read_metrics_file
from hhnas.reporting.records import Table
from hhnas.search.state import FORMAT as STATE_FORMAT

LEADING: dict[str, str] = {
    "dataset": "dataset name, a key of the config's datasets",
    "variant": "search variant, a strategy or an ablation; it names the search directory",
    "strategy": "the strategy that proposed the candidate: hhnas, random-mutation, random or "
    "optuna-tpe",
    "experiment": "experiment number, from 1",
    "iteration": "iteration within the experiment, from 0",
    "seed": "the experiment's search seed, search.seed x 1000 + experiment (state.seed of the "
    "iteration's state file)",
    "model": "the paper's model number of the template: M1-M4, M5-M8 without the backbone",
    "p1": "macro bit, 1: the transformer backbone branch is on",
    "p2": "macro bit, 1: the CNN branch over the LLM features is on",
    "p3": "macro bit, 1: the CNN branch over the schema-linking features is on",
}
# Stands for the search parameters' columns in the documented list (docs/candidates.md).
PARAMS = "<parameter>"
PARAMS_DOC = (
    "one column per search parameter, named as in the config's search.parameters: the "
    "candidate's value, a plain number for a continuous one (the learning rate too, not its "
    "log), the chosen value for a discrete one"
)
TRAILING: dict[str, str] = {
    "status": "ok, or failed: training raised, and the metrics file's error holds the message",
    "error_class": "class name of the exception a failed candidate raised; empty when ok",
    "objective": "the score the search learned from: the validation accuracy, minus the weighted "
    "cost under search.reward.objective accuracy-minus-cost; 0 for a failed candidate",
    "val_acc": "best validation accuracy over the epochs, a fraction in [0, 1]; 0 for a failed "
    "candidate",
    "test_acc": "test accuracy at the epoch of the best validation accuracy, a fraction in "
    "[0, 1]; 0 for a failed candidate",
    "n_params": "trainable parameters of the candidate's network; empty if it was not built",
    "best_epoch": "epoch (from 1) of the best validation accuracy; empty if no epoch finished",
    "seconds": "training time in seconds, from building the network to the last epoch",
    "job_seconds": "wall time in seconds of the whole iteration job: state files, strategy, "
    "data and training",
    "metrics_file": "the metrics file the row was read from, as the path was given",
}
SORT_KEYS = ["dataset", "variant", "experiment", "iteration"]
_METRICS_NAME = re.compile(r"^metrics_(\d+)\.json$")
# Keys without which a row cannot say which candidate it is.
_REQUIRED = ("dataset", "variant", "strategy", "experiment", "iteration", "model", "macro")


def columns(params: Sequence[str]) -> list[str]:
    """The table's columns for search parameters ``params``, in order."""
    return [*LEADING, *params, *TRAILING]


def state_path(metrics_file: str | os.PathLike) -> Path:
    """The state file an iteration job writes beside its metrics file."""
    path = Path(metrics_file)
    match = _METRICS_NAME.match(path.name)
    if match is None:
        raise ValueError(f"{path}: not a search metrics file (expected metrics_<iteration>.json)")
    return path.with_name(f"state_{match.group(1)}.json")


def load_candidates(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per metrics file whose state file exists, sorted by SORT_KEYS, with
    ``columns(...)`` as its columns. Every error names the file it is about."""
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    # The same file listed twice (two variants sharing a directory) is one candidate.
    for path in dict.fromkeys(os.fspath(p) for p in paths):
        state = state_path(path)
        if state.exists():
            metrics = _metrics(path)
            found.append((_row(metrics, _seed(state), path), dict(metrics.get("params") or {})))
    found.sort(key=lambda rp: tuple(rp[0][k] for k in SORT_KEYS))
    # First-seen order over the sorted rows: the same columns whatever order paths come in.
    params = list(dict.fromkeys(name for _, ps in found for name in ps))
    clash = sorted(set(params) & (set(LEADING) | set(TRAILING)))
    if clash:
        raise ValueError(f"search parameter(s) {clash} clash with candidates.csv columns")
    df = pd.DataFrame([{**row, **ps} for row, ps in found], columns=columns(params))
    _check_duplicates(df)
    # A discrete parameter stays an integer column even where a row lacks it (a narrower space).
    discrete = [
        name
        for name in params
        if all(_is_int(ps[name]) for _, ps in found if ps.get(name) is not None)
    ]
    return _coerce_types(df, discrete)


def write_candidates(paths: Iterable[str | os.PathLike], out: str | os.PathLike) -> pd.DataFrame:
    """Read ``paths`` (load_candidates) and write the table to ``out`` as CSV; returns it."""
    df = load_candidates(paths)
    # Through hhnas.io: a crash leaves the previous file or the new one, never half of one.
    write_text(out, df.to_csv(index=False, lineterminator="\n"))
    return df


def candidates_entry(csv_path: str | os.PathLike, report_html: str | os.PathLike) -> Table:
    """The report's pointer to the table: a link relative to the report and one sentence
    counted from the file itself, so it cannot disagree with it."""
    df = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
    href = os.path.relpath(csv_path, os.path.dirname(os.path.abspath(report_html)) or ".")
    href = Path(href).as_posix()
    failed = int((df["status"] == "failed").sum())
    runs = df.drop_duplicates(["dataset", "variant", "experiment"]).shape[0]
    text = (
        f"{len(df)} evaluated {'candidate' if len(df) == 1 else 'candidates'} ({failed} failed) "
        f"from {runs} {'experiment' if runs == 1 else 'experiments'} of "
        f"{_names(df['variant'], 'no variant')} on {_names(df['dataset'], 'no dataset')}: one "
        "row per candidate with its template, search parameters, status, accuracies and times."
    )
    return {
        "title": "Every evaluated candidate",
        "caption": caption("candidates"),
        "html": f'<p><a href="{escape(href)}">{escape(Path(csv_path).name)}</a>: '
        f"{escape(text)}</p>",
    }


def _names(values: pd.Series, none: str) -> str:
    return ", ".join(dict.fromkeys(values)) or none


def _metrics(path: str) -> dict[str, Any]:
    # Checked here, where the file is known: sorting rows with a "2" among 2s would not say.
    data = read_metrics_file(path, _REQUIRED)
    macro = data["macro"]
    if not isinstance(macro, list) or len(macro) != 3:
        raise ValueError(f"{path}: macro must be the three bits [p1, p2, p3], got {macro!r}")
    if not isinstance(data.get("params") or {}, dict):
        raise ValueError(f"{path}: params must be a JSON object")
    return data


def _seed(state: Path) -> int:
    doc = read_json(state)
    ok = isinstance(doc, dict) and doc.get("format") == STATE_FORMAT
    seed = (doc.get("state") or {}).get("seed") if ok else None
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"{state}: not an hhnas search-state file with a state.seed")
    return seed


def _row(m: dict[str, Any], seed: int, path: str) -> dict[str, Any]:
    p1, p2, p3 = m["macro"]
    return {
        **{k: m[k] for k in ("dataset", "variant", "strategy", "experiment", "iteration")},
        "seed": seed,
        "model": m["model"],
        "p1": p1,
        "p2": p2,
        "p3": p3,
        **{k: m.get(k) for k in TRAILING if k != "metrics_file"},
        "metrics_file": path,
    }


def _check_duplicates(df: pd.DataFrame) -> None:
    # Two files for one search step: a copied or moved results directory.
    dup = df[df.duplicated(SORT_KEYS, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        same = dup[(dup[SORT_KEYS] == first[SORT_KEYS]).all(axis=1)]["metrics_file"].tolist()
        where = ", ".join(f"{k}={first[k]}" for k in SORT_KEYS)
        raise ValueError(f"two metrics files for {where}: {', '.join(same)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce_types(df: pd.DataFrame, discrete: list[str]) -> pd.DataFrame:
    # Nullable integers, so a missing n_params or parameter is an empty cell, not 1e+05 or 256.0.
    for col in ("experiment", "iteration", "seed", "model", "p1", "p2", "p3"):
        df[col] = df[col].astype("int64")
    for col in ("n_params", "best_epoch", *discrete):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    for col in ("objective", "val_acc", "test_acc", "seconds", "job_seconds"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    return df.reset_index(drop=True)
