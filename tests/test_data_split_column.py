"""A CSV dataset that carries its own split (`datasets.<name>.split_column`).

Each row keeps the split the CSV gives it; data.split is not used, and every kept class needs a
train, a val and a test row in that split. Every test writes a tiny CSV under tmp_path and
asserts the exact outcome.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from hhnas.data.loaders import DataError, load_csv
from hhnas.data.prepare import build_dataset

SPLIT = {"train": 0.7, "val": 0.15, "test": 0.15}
HEADER = "text,label,split"


def _csv(tmp_path: Path, rows: list[tuple[str, str, str]], header: str = HEADER) -> Path:
    """A CSV of (text, label, split) rows under tmp_path (line 1 is the header)."""
    path = tmp_path / "data.csv"
    body = "".join(f"{t},{c},{s}\n" for t, c, s in rows)
    path.write_text(header + "\n" + body, encoding="utf-8")
    return path


def _rows(label: str, splits: list[str]) -> list[tuple[str, str, str]]:
    """One row per entry of `splits`, with distinct questions."""
    return [(f"question {i} for {label}", label, s) for i, s in enumerate(splits)]


def _build(path: Path, min_pc: int = 3, seed: int = 0, **ds) -> dict:
    ds_cfg = {
        "format": "csv",
        "text_column": "text",
        "label_column": "label",
        "path": str(path),
        "min_questions_per_class": min_pc,
        "split_column": "split",
    }
    ds_cfg.update(ds)
    data_cfg = {"spider_dir": "", "split_seed": seed, "split": SPLIT}
    return build_dataset("toy", ds_cfg, data_cfg)


# ------------------------------------------------------------------ the split is kept as given


def test_split_column_is_kept_row_by_row(tmp_path: Path) -> None:
    # Mixed case and surrounding spaces read as the lower-case split name.
    a = _rows("a", [" Train ", "VAL", "test", "train", "train"])
    b = _rows("b", ["test", "train", "Val", "TRAIN"])
    path = _csv(tmp_path, [a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4]])
    # min_questions_per_class=3 is below what data.split needs (4): fractions do not apply.
    built = _build(path, min_pc=3)
    got = [(r["text"], r["label"], r["split"]) for r in built["records"]]
    assert got == [
        ("question 0 for a", 0, "train"),
        ("question 0 for b", 1, "test"),
        ("question 1 for a", 0, "val"),
        ("question 1 for b", 1, "train"),
        ("question 2 for a", 0, "test"),
        ("question 2 for b", 1, "val"),
        ("question 3 for a", 0, "train"),
        ("question 3 for b", 1, "train"),
        ("question 4 for a", 0, "train"),
    ]
    assert [r["id"] for r in built["records"]] == list(range(9))
    c = built["counts"]
    assert (c["train"], c["val"], c["test"]) == (5, 2, 2)
    assert c["split_source"] == "column:split"
    assert c["rows"] == c["rows_raw"] == 9
    assert built["classes"]["classes"] == ["a", "b"]


def test_load_csv_returns_the_lower_case_split(tmp_path: Path) -> None:
    path = _csv(tmp_path, [("hello", "a", " TEST "), ("bye", "b", "Val")])
    assert load_csv(path, "text", "label", split_column="split") == [
        {"text": "hello", "label": "a", "split": "test"},
        {"text": "bye", "label": "b", "split": "val"},
    ]
    # Without split_column the column is ignored, as before.
    assert load_csv(path, "text", "label") == [
        {"text": "hello", "label": "a"},
        {"text": "bye", "label": "b"},
    ]


def test_without_split_column_the_source_is_fractions(tmp_path: Path) -> None:
    path = _csv(tmp_path, _rows("a", ["test"] * 4) + _rows("b", ["test"] * 4))
    built = _build(path, min_pc=4, split_column=None)
    assert "split_source" not in built["counts"]
    # data.split decides: the all-"test" column is not read.
    assert (built["counts"]["train"], built["counts"]["val"], built["counts"]["test"]) == (4, 2, 2)


def test_empty_questions_and_small_classes_are_dropped_with_split_column(tmp_path: Path) -> None:
    rows = _rows("a", ["train", "val", "test"]) + _rows("b", ["train", "val", "test", "train"])
    rows += [("  ", "a", "train")] + _rows("c", ["train", "val"])
    built = _build(_csv(tmp_path, rows), min_pc=3)
    c = built["counts"]
    assert c["rows_dropped_empty"] == 1
    assert (c["classes_dropped_small"], c["rows_dropped_small_class"]) == (1, 2)
    assert (c["rows"], c["train"], c["val"], c["test"]) == (7, 3, 2, 2)
    assert built["classes"]["classes"] == ["a", "b"]


# ------------------------------------------------------------------ bad or missing column


@pytest.mark.parametrize("value", ["validation", "dev", "", "  "])
def test_bad_split_value_names_line_column_value_and_allowed_values(
    tmp_path: Path, value: str
) -> None:
    rows = _rows("a", ["train", "val"]) + [("odd one", "a", value)] + _rows("b", ["test"])
    path = _csv(tmp_path, rows)
    with pytest.raises(DataError) as info:
        _build(path)
    assert str(info.value) == (
        f"{path}:4: split {value!r} in column 'split' is not one of train, val, test; write "
        "train, val or test (case and surrounding spaces are ignored)"
    )


def test_missing_split_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label,part\nhello,a,train\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        _build(path)
    assert str(info.value) == (
        f"{path}:1: missing column(s) ['split']; found ['text', 'label', 'part']. Rename the "
        "header or set datasets.<name>.text_column / label_column / id_column / split_column"
    )


def test_split_column_on_a_spider_dataset_is_an_error(tmp_path: Path) -> None:
    ds_cfg = {"format": "spider", "splits": ["train"], "min_questions_per_class": 4}
    ds_cfg["split_column"] = "split"
    with pytest.raises(ValueError) as info:
        build_dataset("toy", ds_cfg, {"spider_dir": str(tmp_path), "split_seed": 0, "split": SPLIT})
    assert str(info.value) == (
        "datasets.toy.split_column is only for format 'csv', got format 'spider'; remove it "
        "(a Spider dataset is split by data.split)"
    )


# ------------------------------------------------------------------ every class in every part


@pytest.mark.parametrize(
    ("b_splits", "empty"),
    [
        (["train", "test", "test", "train"], "val"),
        (["train", "train", "train"], "val/test"),
        (["val", "test", "test"], "train"),
    ],
)
def test_class_missing_a_part_in_published_split_names_class_and_part(
    tmp_path: Path, b_splits: list[str], empty: str
) -> None:
    path = _csv(tmp_path, _rows("a", ["train", "val", "test"]) + _rows("b", b_splits))
    with pytest.raises(ValueError) as info:
        _build(path)
    assert str(info.value) == (
        f"datasets.toy: the published split in column 'split' gives class 'b' no {empty} row; "
        "drop the class from the CSV or remove split_column to let data.split split it"
    )


def test_class_dropped_as_small_need_not_fill_every_part(tmp_path: Path) -> None:
    rows = _rows("a", ["train", "val", "test"]) + _rows("b", ["train", "val", "test"])
    rows += _rows("c", ["train", "train"])  # 2 rows < min 3: dropped, so no error about val
    built = _build(_csv(tmp_path, rows), min_pc=3)
    assert built["classes"]["classes"] == ["a", "b"]


# ------------------------------------------------------------------ max_questions_per_class


def test_max_questions_with_split_column_is_deterministic_across_the_published_split(
    tmp_path: Path,
) -> None:
    a_splits = ["train", "val", "test"] * 3 + ["train"]  # 10 rows
    rows = _rows("a", a_splits) + _rows("b", ["train", "val", "test", "train"])
    path = _csv(tmp_path, rows)
    first = _build(path, max_questions_per_class=5)
    assert _build(path, max_questions_per_class=5) == first
    # The 5 rows of class a are drawn from all 10, whatever their split, with data.split_seed.
    chosen = sorted(random.Random(0).sample(range(10), 5))
    assert chosen == [0, 2, 4, 6, 9]
    got = [(r["text"], r["split"]) for r in first["records"] if r["label"] == 0]
    assert got == [(f"question {i} for a", a_splits[i]) for i in chosen]
    c = first["counts"]
    assert c["rows_dropped_max_per_class"] == 5
    assert (c["rows"], c["train"], c["val"], c["test"]) == (9, 5, 2, 2)
    assert c["split_source"] == "column:split"


def test_max_questions_that_empties_a_part_says_so(tmp_path: Path) -> None:
    # Class a: rows 0-3 train, 4 val, 5 test; seed 0 keeps rows [0, 1, 3, 5]: no val row.
    a_splits = ["train"] * 4 + ["val", "test"]
    rows = _rows("a", a_splits) + _rows("b", ["train", "val", "test"])
    path = _csv(tmp_path, rows)
    assert sorted(random.Random(0).sample(range(6), 4)) == [0, 1, 3, 5]
    with pytest.raises(ValueError) as info:
        _build(path, max_questions_per_class=4, seed=0)
    assert str(info.value) == (
        "datasets.toy: the published split in column 'split' gives class 'a' no val row after "
        "max_questions_per_class=4 subsampling; raise or remove "
        "datasets.toy.max_questions_per_class, drop the class from the CSV or remove "
        "split_column to let data.split split it"
    )
    # Another seed keeps the val row: [0, 1, 4, 5].
    built = _build(path, max_questions_per_class=4, seed=1)
    assert [r["split"] for r in built["records"] if r["label"] == 0] == [
        "train",
        "train",
        "val",
        "test",
    ]


# ------------------------------------------------------------------ fewer than 2 classes


def test_lower_advice_with_split_column_goes_down_to_three(tmp_path: Path) -> None:
    # data.split would need 4 rows per class, but with split_column 3 is enough.
    rows = _rows("a", ["train", "val", "test"] * 2) + _rows("b", ["train", "val", "test"])
    path = _csv(tmp_path, rows)
    with pytest.raises(
        ValueError, match=re.escape("Lower datasets.toy.min_questions_per_class to 3")
    ):
        _build(path, min_pc=4)
    assert _build(path, min_pc=3)["counts"]["classes"] == 2
