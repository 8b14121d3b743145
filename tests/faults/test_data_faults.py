"""Bad input data: each case has one documented rule (docs/algorithm.md, "Bad input data").

Either the rows are dropped and counted in counts.json (and named in the report's dataset notes)
or a DataError / ValueError names the file, the line, what is wrong and the fix. Every test writes
small files under tmp_path and asserts the exact outcome.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hhnas.config.sections import Dataset
from hhnas.data.loaders import DataError, load_csv
from hhnas.data.prepare import build_dataset
from hhnas.data.split import min_class_size, part_sizes
from hhnas.reporting.build import _dataset_entry

# What the schema fills in for a csv dataset (config/schema/config.schema.yaml).
CSV_COLUMNS = {"text_column": "text", "label_column": "label"}

SPLIT = {"train": 0.7, "val": 0.15, "test": 0.15}


def _q(question, db_id: str, split: str = "train_spider") -> str:
    return json.dumps({"question": question, "db_id": db_id, "split": split})


def _table(db_id: str) -> dict:
    return {
        "db_id": db_id,
        "table_names": [f"{db_id} table"],
        "column_names": [[-1, "*"], [0, "name"]],
    }


def _spider(
    tmp_path: Path, lines: list[str], dbs: tuple[str, ...] = ("alpha", "beta", "gamma")
) -> Path:
    (tmp_path / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "tables.json").write_text(json.dumps([_table(d) for d in dbs]), encoding="utf-8")
    return tmp_path


def _good(n: int = 4, dbs: tuple[str, ...] = ("alpha", "beta", "gamma")) -> list[str]:
    """n distinct questions per database."""
    return [_q(f"question {i} about {d}", d) for d in dbs for i in range(n)]


def _build(root: Path, min_pc: int = 4, split: dict | None = None, **ds) -> dict:
    ds_cfg = {"format": "spider", "splits": ["train_spider"], "min_questions_per_class": min_pc}
    ds_cfg.update(ds)
    data_cfg = {"spider_dir": str(root), "split_seed": 0, "split": split or SPLIT}
    return build_dataset("toy", ds_cfg, data_cfg)


def _entry_notes(counts: dict, min_pc: int = 4) -> list[str]:
    ds = Dataset("toy", "spider", min_questions_per_class=min_pc, max_questions_per_class=None)
    return _dataset_entry("toy", counts, ds)["notes"]


def _accounted(c: dict) -> int:
    return (
        c["rows_dropped_empty"]
        + c["rows_dropped_unknown_db"]
        + c["rows_dropped_small_class"]
        + c["rows_dropped_max_per_class"]
        + c["rows"]
    )


# ------------------------------------------------------------------ 1. empty questions


def test_empty_questions_are_dropped_and_counted(tmp_path: Path) -> None:
    lines = _good() + [_q("", "alpha"), _q("   \t", "beta")]
    built = _build(_spider(tmp_path, lines))
    c = built["counts"]
    assert c["rows_raw"] == 14
    assert c["rows_dropped_empty"] == 2
    assert c["rows"] == 12
    assert _accounted(c) == 14
    assert all(r["text"].strip() for r in built["records"])
    assert "2 empty questions dropped" in _entry_notes(c)


# ------------------------------------------------------------------ 2. malformed questions.jsonl


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        (json.dumps({"db_id": "alpha", "split": "train_spider"}), "missing key `question`"),
        (json.dumps({"question": "q?", "split": "train_spider"}), "missing key `db_id`"),
        (json.dumps({"question": "q?", "db_id": "alpha"}), "missing key `split`"),
        (_q(None, "alpha"), "key `question` is NoneType null, not a string"),
        (_q(42, "alpha"), "key `question` is int 42, not a string"),
        ('{"question": "q?", "db_id": ', "not valid JSON"),
    ],
)
def test_malformed_question_line_names_file_line_and_key(
    tmp_path: Path, bad_line: str, expected: str
) -> None:
    lines = _good()
    lines.insert(2, bad_line)  # line 3 of the file
    root = _spider(tmp_path, lines)
    with pytest.raises(DataError) as info:
        _build(root)
    msg = str(info.value)
    assert f"{root / 'questions.jsonl'}:3: " in msg
    assert expected in msg


# ------------------------------------------------------------------ 3. unknown db_id, bad tables


def test_unknown_db_id_is_dropped_counted_and_named(tmp_path: Path) -> None:
    lines = _good() + [_q("q1", "ghost"), _q("q2", "zombie"), _q("q3", "ghost")]
    built = _build(_spider(tmp_path, lines))
    c = built["counts"]
    assert c["rows_dropped_unknown_db"] == 3
    assert c["classes_unknown_db"] == 2
    assert c["unknown_db_ids"] == ["ghost", "zombie"]
    assert c["classes_raw"] == 3
    assert c["rows"] == 12
    assert _accounted(c) == c["rows_raw"] == 15
    assert built["classes"]["classes"] == ["alpha", "beta", "gamma"]
    assert None not in built["classes"]["schemas"]
    assert (
        "3 questions dropped: their db_id has no schema in tables.json (ghost, zombie)"
        in _entry_notes(c)
    )


def test_many_unknown_db_ids_name_the_first_five(tmp_path: Path) -> None:
    ghosts = [f"ghost{i}" for i in range(7)]
    built = _build(_spider(tmp_path, _good() + [_q("q", g) for g in ghosts]))
    c = built["counts"]
    assert c["rows_dropped_unknown_db"] == 7
    assert c["unknown_db_ids"] == ghosts[:5]
    assert any(
        n.endswith("(ghost0, ghost1, ghost2, ghost3, ghost4 and 2 more)") for n in _entry_notes(c)
    )


@pytest.mark.parametrize("key", ["table_names", "column_names"])
def test_tables_entry_without_schema_key_names_db_and_key(tmp_path: Path, key: str) -> None:
    root = _spider(tmp_path, _good())
    tables = [_table(d) for d in ("alpha", "beta", "gamma")]
    del tables[1][key]
    (root / "tables.json").write_text(json.dumps(tables), encoding="utf-8")
    with pytest.raises(DataError) as info:
        _build(root)
    msg = str(info.value)
    assert str(root / "tables.json") in msg
    assert "db_id 'beta'" in msg
    assert f"`{key}`" in msg


# ------------------------------------------------------------------ 4. non-UTF-8 bytes


@pytest.mark.parametrize("target", ["questions.jsonl", "tables.json", "data.csv"])
def test_non_utf8_bytes_name_file_line_offset_and_fix(tmp_path: Path, target: str) -> None:
    root = _spider(tmp_path, _good())
    if target == "data.csv":
        path = root / "data.csv"
        body = b"text,label\nhello,a\n" + "caf\xe9 menu,b\n".encode("latin1")
        ds = {"format": "csv", "path": str(path), **CSV_COLUMNS}
    elif target == "questions.jsonl":
        path = root / target
        lines = _good()
        body = ("\n".join(lines[:2]) + "\n").encode() + (
            '{"question": "caf\xe9?", "db_id": "alpha", "split": "train_spider"}'.encode("latin1")
        )
        ds = {}
    else:
        path = root / target
        # Pretty-printed: the bad byte sits on line 3.
        body = b'[\n {"db_id": "alpha",\n  "table_names": ["caf\xe9"],\n  "column_names": []}\n]'
        ds = {}
    path.write_bytes(body)
    offset = body.index(b"\xe9")
    with pytest.raises(DataError) as info:
        _build(root, **ds)
    msg = str(info.value)
    assert f"{path}:3: not UTF-8 (byte 0xe9 at byte offset {offset})" in msg
    assert f"iconv -f latin1 -t utf-8 {target} > {target}.utf8" in msg


# ------------------------------------------------------------------ 5. small classes, split sizes


def test_small_classes_are_dropped_and_counted(tmp_path: Path) -> None:
    lines = _good(6, ("alpha", "beta")) + _good(3, ("gamma",)) + _good(1, ("delta",))
    dbs = ("alpha", "beta", "gamma", "delta")
    built = _build(_spider(tmp_path, lines, dbs), min_pc=5)
    c = built["counts"]
    assert c["classes_raw"] == 4
    assert c["classes_dropped_small"] == 2
    assert c["rows_dropped_small_class"] == 4
    assert c["classes"] == 2
    assert c["rows"] == 12
    assert _accounted(c) == c["rows_raw"] == 16
    assert "2 classes with fewer than 5 questions dropped (4 rows)" in _entry_notes(c, 5)
    # Every kept class has a row in each part.
    parts = {(r["label"], r["split"]) for r in built["records"]}
    assert parts == {(y, s) for y in (0, 1) for s in ("train", "val", "test")}


def _csv_of(tmp_path: Path, sizes: dict[str, int], empty: dict[str, int] | None = None) -> Path:
    """A text,label CSV with sizes[c] distinct questions of class c (and empty[c] empty ones)."""
    lines = [f"question {i} for {c},{c}" for c, n in sizes.items() for i in range(n)]
    lines += [f"  ,{c}" for c, n in (empty or {}).items() for _ in range(n)]
    path = tmp_path / "data.csv"
    path.write_text("text,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _build_csv(path: Path, min_pc: int = 4, split: dict | None = None, **ds) -> dict:
    ds_cfg = {"format": "csv", "path": str(path), "min_questions_per_class": min_pc}
    ds_cfg.update(CSV_COLUMNS, **ds)
    data_cfg = {"spider_dir": "", "split_seed": 0, "split": split or SPLIT}
    return build_dataset("toy", ds_cfg, data_cfg)


# A split for which a class of 3 rows fills every part (0.6 and 0.6 round to 1).
SPLIT_60_20_20 = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.mark.parametrize(
    ("n", "min_pc", "split"),
    [(6, 4, SPLIT), (2, 4, SPLIT), (6, 3, SPLIT_60_20_20), (3, 3, SPLIT_60_20_20)],
)
def test_one_class_csv_says_it_has_only_one_class(
    tmp_path: Path, n: int, min_pc: int, split: dict
) -> None:
    assert min_class_size(SPLIT_60_20_20) == 3
    path = _csv_of(tmp_path, {"only": n})
    with pytest.raises(ValueError) as info:
        _build_csv(path, min_pc=min_pc, split=split)
    msg = str(info.value)
    assert msg == (
        f"datasets.toy: {path} has only one class: all {n} usable rows have class 'only', and "
        "classification needs at least 2 classes; add rows of other classes"
    )
    assert "min_questions_per_class" not in msg  # lowering it cannot help


def test_one_class_left_after_dropping_empty_questions_says_only_one_class(
    tmp_path: Path,
) -> None:
    path = _csv_of(tmp_path, {"a": 5}, empty={"b": 5})
    with pytest.raises(ValueError) as info:
        _build_csv(path)
    assert str(info.value) == (
        f"datasets.toy: {path} has only one class: all 5 usable rows have class 'a', and "
        "classification needs at least 2 classes; add rows of other classes"
    )


def test_one_database_spider_says_it_has_only_one_class(tmp_path: Path) -> None:
    root = _spider(tmp_path, _good(6, ("alpha",)) + [_q("q", "ghost")], ("alpha",))
    with pytest.raises(ValueError) as info:
        _build(root)
    assert str(info.value) == (
        f"datasets.toy: {root / 'questions.jsonl'} has only one class: all 6 usable rows have "
        "class 'alpha', and classification needs at least 2 classes; add rows of other classes"
    )


def test_csv_without_usable_rows_says_so(tmp_path: Path) -> None:
    path = _csv_of(tmp_path, {}, empty={"a": 2, "b": 1})
    with pytest.raises(ValueError) as info:
        _build_csv(path)
    assert str(info.value) == (
        f"datasets.toy: no usable rows in {path} (3 read, 3 with an empty question dropped); "
        "add rows with a question and a class"
    )


@pytest.mark.parametrize(
    ("sizes", "min_pc", "split", "advice"),
    [
        # 2+ classes before the filter and a valid lower value keeps 2: advise lowering it.
        (
            {"a": 9, "b": 5, "c": 4, "d": 1},
            6,
            SPLIT,
            "Lower datasets.toy.min_questions_per_class to 5 to keep 2 classes, or add rows to "
            "the small classes",
        ),
        (
            {"a": 9, "b": 3},
            4,
            SPLIT_60_20_20,
            "Lower datasets.toy.min_questions_per_class to 3 to keep 2 classes, or add rows to "
            "the small classes",
        ),
        # The second class is below what data.split needs (4 rows): lowering cannot help.
        (
            {"a": 9, "b": 3, "c": 2},
            4,
            SPLIT,
            "Add rows to the small classes; min_questions_per_class cannot go below 4 "
            "(data.split {'train': 0.7, 'val': 0.15, 'test': 0.15} needs at least 4 rows per "
            "class), which leaves fewer than 2 classes",
        ),
        # Below the config schema's minimum of 3.
        (
            {"a": 9, "b": 2},
            3,
            SPLIT_60_20_20,
            "Add rows to the small classes; min_questions_per_class cannot go below 3 "
            "(data.split {'train': 0.6, 'val': 0.2, 'test': 0.2} needs at least 3 rows per "
            "class), which leaves fewer than 2 classes",
        ),
    ],
)
def test_too_few_classes_advises_lowering_min_only_when_it_helps(
    tmp_path: Path, sizes: dict, min_pc: int, split: dict, advice: str
) -> None:
    path = _csv_of(tmp_path, sizes)
    with pytest.raises(ValueError) as info:
        _build_csv(path, min_pc=min_pc, split=split)
    msg = str(info.value)
    shown = ", ".join(f"{c!r}: {n}" for c, n in sizes.items())
    assert msg == (
        f"datasets.toy: only 1 of the {len(sizes)} classes in {path} have at least "
        f"min_questions_per_class={min_pc} rows (rows per class: {shown}); classification "
        f"needs at least 2 classes. {advice}"
    )
    assert ("Lower datasets.toy.min_questions_per_class" in msg) == advice.startswith("Lower")
    if advice.startswith("Lower"):
        # The advised value works.
        lowered = int(advice.split(" to ")[1].split()[0])
        assert _build_csv(path, min_pc=lowered, split=split)["counts"]["classes"] == 2


def test_min_questions_too_small_for_split_names_key_and_smallest_value(tmp_path: Path) -> None:
    root = _spider(tmp_path, _good(3, ("alpha",)) + _good(4, ("beta", "gamma")))
    with pytest.raises(ValueError) as info:
        _build(root, min_pc=3)  # a class of 3 rows would get round(0.45) = 0 val rows
    msg = str(info.value)
    assert "datasets.toy.min_questions_per_class=3 is too small" in msg
    assert "(train, val, test) = (3, 0, 0)" in msg
    assert msg.endswith("Set datasets.toy.min_questions_per_class to at least 4")
    # The value the message suggests works: every kept class is in every part.
    built = _build(root, min_pc=4)
    assert built["counts"]["classes_dropped_small"] == 1
    parts = {(r["label"], r["split"]) for r in built["records"]}
    assert parts == {(y, s) for y in (0, 1) for s in ("train", "val", "test")}


def test_max_questions_too_small_for_split_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"datasets\.toy\.max_questions_per_class=3 .* at least 4"):
        _build(_spider(tmp_path, _good(6)), min_pc=5, max_questions_per_class=3)


@pytest.mark.parametrize(
    ("val", "test", "expected"), [(0.15, 0.15, 4), (0.1, 0.1, 6), (0.45, 0.45, 9), (0.2, 0.1, 6)]
)
def test_min_class_size_is_smallest_size_from_which_every_part_is_filled(
    val: float, test: float, expected: int
) -> None:
    fractions = {"train": 1 - val - test, "val": val, "test": test}
    assert min_class_size(fractions) == expected
    assert min(part_sizes(expected - 1, fractions)) == 0
    assert all(min(part_sizes(n, fractions)) >= 1 for n in range(expected, 500))


def test_split_fractions_leaving_no_train_row_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"data\.split: val=0\.5 and test=0\.5 .* val \+ test < 1"):
        _build(_spider(tmp_path, _good()), split={"train": 0.1, "val": 0.5, "test": 0.5})


# ------------------------------------------------------------------ 6. duplicates


def test_duplicate_csv_id_names_file_id_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("qid,text,label\nq1,hello,a\nq2,bye,b\n\nq1,again,a\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_csv(path, "text", "label", id_column="qid")
    assert str(info.value) == (
        f"{path}:5: duplicate id 'q1' in column 'qid', first on line 2; give each row its own id "
        "or remove the repeated row"
    )
    # Without id_column the same file loads (ids are only checked when named).
    assert len(load_csv(path, "text", "label")) == 3


def test_spider_duplicate_questions_are_kept_and_counted(tmp_path: Path) -> None:
    dup = _q("How many singers are there?", "alpha")
    lines = _good() + [dup, dup, _q("How many singers are there? ", "alpha")]
    lines += [_q("How many singers are there?", "beta")]  # other database: not a duplicate
    c = _build(_spider(tmp_path, lines))["counts"]
    assert c["rows"] == 16
    assert c["rows_duplicate_text"] == 2
    assert (
        "2 questions repeat an earlier question of the same database word for word; kept, as in "
        "the source data" in _entry_notes(c)
    )


# ------------------------------------------------------------------ 7. malformed CSV


def test_empty_csv_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}:1: empty file; expected a header")):
        load_csv(path, "text", "label")


@pytest.mark.parametrize("body", ["text,label\n", "text,label", "\ntext,label\n\n  \n"])
def test_header_only_csv_says_header_but_no_rows(tmp_path: Path, body: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(body, encoding="utf-8")
    line = 2 if body.startswith("\n") else 1
    expected = (
        f"{path}:{line}: the file has a header (text, label) but no rows; add one row per "
        "question below the header"
    )
    with pytest.raises(DataError) as info:
        load_csv(path, "text", "label")
    assert str(info.value) == expected
    # build_dataset stops with the same message, not "only 0 class(es) ...; lower it".
    with pytest.raises(DataError) as info:
        _build_csv(path)
    assert str(info.value) == expected


def test_csv_row_with_too_few_fields_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    # The quoted field spans lines 2-3, so the short row starts on line 4.
    path.write_text('text,label\n"two\nlines",a\nno label here\nok,b\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_csv(path, "text", "label")
    assert str(info.value).startswith(f"{path}:4: 1 field(s), the header has 2; quote fields")


def test_csv_row_with_too_many_fields_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label\nhello, world,a\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}:2: 3 field(s), the header has 2")):
        load_csv(path, "text", "label")


def test_csv_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("question,label\nhello,a\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}:1: missing column(s) ['text']")):
        load_csv(path, "text", "label")


def test_csv_empty_label_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label\nhello,a\nbye, \n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}:3: empty label in column 'label'")):
        load_csv(path, "text", "label")


def test_good_csv_with_bom_and_ids_builds(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    rows = [f"id{c}{i},question {i} for {c},{c}" for c in "ab" for i in range(4)]
    path.write_bytes(b"\xef\xbb\xbf" + ("id,text,label\n" + "\n".join(rows) + "\n").encode())
    ds_cfg = {
        "format": "csv",
        "path": str(path),
        "min_questions_per_class": 4,
        "id_column": "id",
        **CSV_COLUMNS,
    }
    built = build_dataset("toy", ds_cfg, {"spider_dir": "", "split_seed": 0, "split": SPLIT})
    assert built["classes"]["classes"] == ["a", "b"]
    assert built["counts"]["rows"] == 8
    assert built["counts"]["rows_dropped_unknown_db"] == 0  # no schemas to check for CSV
