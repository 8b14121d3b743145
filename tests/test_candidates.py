"""results/candidates.csv: every evaluated candidate, from hand-made metrics and state files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from hhnas.reporting.candidates import (
    LEADING,
    PARAMS,
    PARAMS_DOC,
    TRAILING,
    candidates_entry,
    columns,
    load_candidates,
    state_path,
    write_candidates,
)
from hhnas.reporting.captions import caption
from hhnas.search.state import save_state

PARAMS_ORDER = ["learning_rate", "criterion_num", "layer_size1", "dropout_rate"]
EXPECTED_COLUMNS = [
    "dataset",
    "variant",
    "strategy",
    "experiment",
    "iteration",
    "seed",
    "model",
    "p1",
    "p2",
    "p3",
    *PARAMS_ORDER,
    "status",
    "error_class",
    "objective",
    "val_acc",
    "test_acc",
    "n_params",
    "best_epoch",
    "seconds",
    "job_seconds",
    "metrics_file",
]


def _metrics(dataset: str, variant: str, exp: int, it: int, *, failed: bool = False) -> dict:
    """A metrics file as hhnas.jobs.iteration.metrics_record writes it (its key order too)."""
    return {
        "version": 1,
        "variant": variant,
        "strategy": variant,
        "dataset": dataset,
        "experiment": exp,
        "iteration": it,
        "model": 2 if failed else 4,
        "macro": [1, 1, 0] if failed else [1, 1, 1],
        # Not in sorted order: the table keeps the files' order.
        "params": {
            "learning_rate": 0.0125 if failed else 0.002,
            "criterion_num": 2 if failed else 0,
            "layer_size1": 1024 if failed else 256,
            "dropout_rate": 0.35,
        },
        "mutated": ["learning_rate"] if it else [],
        "status": "failed" if failed else "ok",
        "error": "FloatingPointError: training loss is nan at epoch 2" if failed else None,
        "error_class": "FloatingPointError" if failed else None,
        "val_acc": 0.0 if failed else 0.8125,
        "test_acc": 0.0 if failed else 0.796875,
        "best_epoch": None if failed else 3,
        "n_params": 52_000 + it if not failed else None,
        "epochs": [],
        "device": "cpu",
        "seconds": 1.25 + it,
        "objective": 0.0 if failed else 0.8125,
        "cost": None,
        "job_seconds": 2.5 + it,
    }


def _write(
    root: Path,
    dataset: str,
    variant: str,
    exp: int,
    it: int,
    *,
    failed: bool = False,
    state: bool = True,
    seed: int | None = None,
) -> str:
    where = root / "results" / dataset / "search" / variant / f"exp{exp}"
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"metrics_{it}.json"
    path.write_text(json.dumps(_metrics(dataset, variant, exp, it, failed=failed), indent=2))
    if state:
        body = {"seed": 1000 + exp if seed is None else seed, "iteration": it, "history": []}
        save_state(
            where / f"state_{it}.json",
            body,  # type: ignore[arg-type]  # only the seed is read back
            strategy=variant,
            cfg_hash="h",
            dataset=dataset,
            experiment=exp,
        )
    return str(path)


@pytest.fixture()
def paths(tmp_path: Path) -> list[str]:
    made = [
        _write(tmp_path, "spider", "hhnas", 1, 0),
        _write(tmp_path, "spider", "hhnas", 1, 1, failed=True),
        _write(tmp_path, "spider", "hhnas", 2, 0),
        _write(tmp_path, "spider", "random", 1, 0),
        _write(tmp_path, "geo", "hhnas", 1, 0),
        # Iteration 10 after iteration 2: numbers, not strings, are sorted.
        _write(tmp_path, "geo", "hhnas", 1, 10),
        _write(tmp_path, "geo", "hhnas", 1, 2),
    ]
    # Reversed, so the table has to sort.
    return made[::-1]


def test_columns_are_the_documented_order(paths: list[str]) -> None:
    df = load_candidates(paths)
    assert list(df.columns) == EXPECTED_COLUMNS
    assert columns(PARAMS_ORDER) == EXPECTED_COLUMNS


def test_rows_sorted_by_dataset_variant_experiment_iteration(paths: list[str]) -> None:
    df = load_candidates(paths)
    keys = list(zip(df["dataset"], df["variant"], df["experiment"], df["iteration"], strict=True))
    assert keys == [
        ("geo", "hhnas", 1, 0),
        ("geo", "hhnas", 1, 2),
        ("geo", "hhnas", 1, 10),
        ("spider", "hhnas", 1, 0),
        ("spider", "hhnas", 1, 1),
        ("spider", "hhnas", 2, 0),
        ("spider", "random", 1, 0),
    ]
    # The same rows whatever order the files come in.
    pd.testing.assert_frame_equal(df, load_candidates(sorted(paths)))


def test_every_value_of_an_ok_and_a_failed_row(tmp_path: Path) -> None:
    ok = _write(tmp_path, "spider", "hhnas", 1, 0, seed=1001)
    failed = _write(tmp_path, "geo", "random", 2, 1, failed=True, seed=2002)
    df = load_candidates([ok, failed])
    assert len(df) == 2
    # Missing values (pandas' NA or NaN by dtype) as None.
    rows = [{k: None if pd.isna(v) else v for k, v in r.items()} for r in df.to_dict("records")]
    assert rows[0] == {
        "dataset": "geo",
        "variant": "random",
        "strategy": "random",
        "experiment": 2,
        "iteration": 1,
        "seed": 2002,
        "model": 2,
        "p1": 1,
        "p2": 1,
        "p3": 0,
        "learning_rate": 0.0125,
        "criterion_num": 2,
        "layer_size1": 1024,
        "dropout_rate": 0.35,
        "status": "failed",
        "error_class": "FloatingPointError",
        "objective": 0.0,
        "val_acc": 0.0,
        "test_acc": 0.0,
        "n_params": None,
        "best_epoch": None,
        "seconds": 2.25,
        "job_seconds": 3.5,
        "metrics_file": failed,
    }
    assert rows[1] == {
        "dataset": "spider",
        "variant": "hhnas",
        "strategy": "hhnas",
        "experiment": 1,
        "iteration": 0,
        "seed": 1001,
        "model": 4,
        "p1": 1,
        "p2": 1,
        "p3": 1,
        "learning_rate": 0.002,
        "criterion_num": 0,
        "layer_size1": 256,
        "dropout_rate": 0.35,
        "status": "ok",
        "error_class": None,
        "objective": 0.8125,
        "val_acc": 0.8125,
        "test_acc": 0.796875,
        "n_params": 52_000,
        "best_epoch": 3,
        "seconds": 1.25,
        "job_seconds": 2.5,
        "metrics_file": ok,
    }


def test_a_metrics_file_without_its_state_file_is_not_a_row(tmp_path: Path) -> None:
    done = _write(tmp_path, "spider", "hhnas", 1, 0)
    # The job was killed between its metrics file and its state file.
    unfinished = _write(tmp_path, "spider", "hhnas", 1, 1, state=False)
    assert not state_path(unfinished).exists()
    df = load_candidates([done, unfinished])
    assert df["metrics_file"].tolist() == [done]
    # Nothing finished: an empty table, columns still there.
    empty = load_candidates([unfinished])
    assert empty.empty and list(empty.columns) == columns([])


def test_state_path_is_the_sibling_and_other_names_are_refused(tmp_path: Path) -> None:
    assert state_path("a/exp1/metrics_12.json") == Path("a/exp1/state_12.json")
    with pytest.raises(ValueError, match=r"iter3\.json: not a search metrics file"):
        state_path(tmp_path / "iter3.json")


def test_parameters_in_first_row_order_union_of_all(tmp_path: Path) -> None:
    first = _write(tmp_path, "a", "hhnas", 1, 0)
    later = _write(tmp_path, "b", "hhnas", 1, 0)
    doc = json.loads(Path(later).read_text())
    del doc["params"]["layer_size1"]
    doc["params"]["kernel_size"] = 5
    Path(later).write_text(json.dumps(doc))
    df = load_candidates([later, first])
    assert list(df.columns) == columns([*PARAMS_ORDER, "kernel_size"])
    # A discrete parameter a row lacks stays an integer column, the gap empty.
    assert df["layer_size1"].iloc[0] == 256 and pd.isna(df["layer_size1"].iloc[1])
    assert pd.isna(df["kernel_size"].iloc[0]) and df["kernel_size"].iloc[1] == 5
    assert str(df["layer_size1"].dtype) == "Int64"


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "spider", "hhnas", 1, 0)
    state = state_path(path)
    state.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match=re.escape(str(state))):
        load_candidates([path])
    _write(tmp_path, "spider", "hhnas", 1, 0)
    doc = json.loads(Path(path).read_text())
    del doc["macro"]
    Path(path).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=re.escape(path) + r": metrics file lacks key\(s\) macro"):
        load_candidates([path])


def test_two_files_for_one_iteration_are_refused(tmp_path: Path) -> None:
    a = _write(tmp_path / "one", "spider", "hhnas", 1, 0)
    b = _write(tmp_path / "two", "spider", "hhnas", 1, 0)
    with pytest.raises(ValueError, match="two metrics files for dataset=spider") as err:
        load_candidates([a, b])
    assert a in str(err.value) and b in str(err.value)
    # The same file listed twice (a directory two variants share) is one row.
    assert len(load_candidates([a, a])) == 1


def test_a_parameter_named_like_a_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "spider", "hhnas", 1, 0)
    doc = json.loads(Path(path).read_text())
    doc["params"]["seed"] = 3
    Path(path).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"\['seed'\] clash"):
        load_candidates([path])


def test_written_csv_reads_back_the_same(paths: list[str], tmp_path: Path) -> None:
    out = tmp_path / "results" / "candidates.csv"
    out.parent.mkdir(exist_ok=True)
    out.write_text("an older table\n")
    df = write_candidates(paths, out)
    # Written whole through a temporary sibling: no temporary file left behind.
    assert sorted(p.name for p in out.parent.iterdir()) == ["candidates.csv", "geo", "spider"]
    text = out.read_text()
    assert text.splitlines()[0] == ",".join(EXPECTED_COLUMNS)
    back = pd.read_csv(out)
    assert len(back) == len(df) == 7
    for col in ("val_acc", "test_acc", "objective", "seconds", "job_seconds", "learning_rate"):
        # Full precision: the floats round-trip exactly.
        assert back[col].tolist() == df[col].tolist()
    assert back["metrics_file"].tolist() == df["metrics_file"].tolist()
    # A failed row's missing values are empty cells, not "nan" or "<NA>".
    failed = text.splitlines()[1 + df.index[df["status"] == "failed"][0]]
    assert ",FloatingPointError,0.0,0.0,0.0,,,2.25,3.5," in failed
    assert "nan" not in text.lower() and "<NA>" not in text


def test_the_report_links_the_table_and_counts_its_rows(paths: list[str], tmp_path: Path) -> None:
    out = tmp_path / "results" / "candidates.csv"
    write_candidates(paths, out)
    entry = candidates_entry(str(out), str(tmp_path / "results" / "report.html"))
    assert entry["caption"] == caption("candidates")
    assert entry["html"] == (
        '<p><a href="candidates.csv">candidates.csv</a>: 7 evaluated candidates (1 failed) from '
        "4 experiments of hhnas, random on geo, spider: one row per candidate with its "
        "template, search parameters, status, accuracies and times.</p>"
    )
    # Relative to wherever the report is.
    assert (
        'href="results/candidates.csv"'
        in candidates_entry(str(out), str(tmp_path / "r.html"))["html"]
    )


def _documented() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "candidates.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([^`]+)` \| (\w+) \| (.+) \|$", text, re.M)


def test_docs_list_every_column_with_its_meaning_and_type(paths: list[str]) -> None:
    documented = _documented()
    expected = [*LEADING.items(), (PARAMS, PARAMS_DOC), *TRAILING.items()]
    assert [(name, meaning) for name, _, meaning in documented] == expected
    df = load_candidates(paths)
    for name, kind, _ in documented:
        col = df[PARAMS_ORDER[0] if name == PARAMS else name]
        if kind == "integer":
            assert pd.api.types.is_integer_dtype(col), name
        elif kind == "number":
            assert pd.api.types.is_numeric_dtype(col), name
        else:
            assert kind == "text" and not pd.api.types.is_numeric_dtype(col), name
    # README's outputs point at the page.
    assert "(docs/candidates.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_accuracies_are_fractions(paths: list[str]) -> None:
    df = load_candidates(paths)
    assert all(0.0 <= v <= 1.0 and not math.isnan(v) for v in df["val_acc"])
    assert all(0.0 <= v <= 1.0 and not math.isnan(v) for v in df["test_acc"])
