"""Groups of questions and the group-aware split (`data.split.group_by`, issue 23).

Spider writes most SQL queries twice in other words; a question's group is its query,
normalised. Every dataset writes groups.json; under group_by "query" all questions of a group
land in one part. Expected values are computed by hand in the comments.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.config import load, merged
from hhnas.config.sections import hashed_split
from hhnas.data.loaders import DataError, load_csv, load_spider, normalise_sql
from hhnas.data.prepare import build_dataset, write_dataset
from hhnas.data.split import group_ids, stratified_group_split, stratified_split

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
PARTS = ("train", "val", "test")


def _csv(tmp_path: Path, lines: list[str], header: str = "text,label,qid") -> Path:
    path = tmp_path / "data.csv"
    path.write_text(header + "\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _build(path: Path, group_by: str | None = "query", **ds: Any) -> dict:
    ds_cfg = {
        "format": "csv",
        "text_column": "text",
        "label_column": "label",
        "path": str(path),
        "min_questions_per_class": 4,
        "group_column": "qid",
        **ds,
    }
    split: dict[str, Any] = dict(SPLIT)
    if group_by is not None:
        split["group_by"] = group_by
    return build_dataset("toy", ds_cfg, {"spider_dir": "", "split_seed": 0, "split": split})


# ------------------------------------------------------------------ groups


def test_sql_is_normalised_for_whitespace_and_case_only() -> None:
    query = "SELECT  count(*)\n FROM\tSinger  WHERE Name = 'Bob'  "
    assert normalise_sql(query) == "select count(*) from singer where name = 'bob'"
    # Nothing else: aliases, spacing inside tokens and punctuation stay apart.
    assert normalise_sql("SELECT count(*) FROM singer AS T1") != normalise_sql(
        "SELECT count(*) FROM singer"
    )
    assert normalise_sql("a=1") != normalise_sql("a = 1")


def test_group_ids_count_from_zero_by_first_appearance() -> None:
    assert group_ids(["q", "p", "q", "r", "p"]) == [0, 1, 0, 2, 1]
    assert group_ids([]) == []


def _spider_dir(tmp_path: Path, lines: list[dict[str, str]]) -> Path:
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    tables = [
        {"db_id": db, "table_names": ["t"], "column_names": [[-1, "*"], [0, "c"]]}
        for db in ("alpha", "beta")
    ]
    (tmp_path / "tables.json").write_text(json.dumps(tables))
    return tmp_path


def _q(question: str, db: str, query: str | None = None) -> dict[str, str]:
    out = {"question": question, "db_id": db, "split": "train_spider"}
    if query is not None:
        out["query"] = query
    return out


def test_load_spider_keeps_the_normalised_query_as_the_group(tmp_path: Path) -> None:
    root = _spider_dir(
        tmp_path,
        [
            _q("How many singers?", "alpha", "SELECT count(*) FROM singer"),
            _q("Count the singers.", "alpha", "select  COUNT(*)\nfrom singer"),
            _q("How many singers are there?", "beta", "SELECT count(*) FROM singer"),
        ],
    )
    rows, _ = load_spider(root, ["train_spider"])
    assert [r["group"] for r in rows] == ["select count(*) from singer"] * 3


@pytest.mark.parametrize("query", ["", "  ", 3], ids=["empty", "blank", "number"])
def test_a_bad_query_names_file_and_line(tmp_path: Path, query: Any) -> None:
    root = _spider_dir(tmp_path, [_q("q1?", "alpha", "SELECT 1"), _q("q2?", "alpha", query)])
    with pytest.raises(DataError) as err:
        load_spider(root, ["train_spider"])
    assert str(err.value).startswith(f"{root / 'questions.jsonl'}:2: key `query` is ")
    assert "write it as a non-empty JSON string or leave the key out" in str(err.value)


def _spider_build(root: Path, group_by: str | None, min_pc: int = 4) -> dict:
    split: dict[str, Any] = dict(SPLIT)
    if group_by is not None:
        split["group_by"] = group_by
    ds = {"format": "spider", "splits": ["train_spider"], "min_questions_per_class": min_pc}
    return build_dataset("sp", ds, {"spider_dir": str(root), "split_seed": 0, "split": split})


def test_spider_groups_are_label_agnostic_and_missing_queries_give_none(tmp_path: Path) -> None:
    # alpha: queries A, A, B, C; beta: A (the same SQL in another database), D, D, E.
    sql = {"A": "SELECT a FROM t", "B": "SELECT b FROM t", "C": "SELECT c FROM t"}
    sql |= {"D": "SELECT d FROM t", "E": "SELECT e FROM t"}
    lines = [_q(f"a{i}?", "alpha", sql[k]) for i, k in enumerate("AABC")]
    lines += [_q(f"b{i}?", "beta", sql[k].upper()) for i, k in enumerate("ADDE")]
    built = _spider_build(_spider_dir(tmp_path, lines), group_by=None)
    # dataset.jsonl keeps the file order: ids by first appearance A0 B1 C2 | A0 D3 E4.
    assert built["groups"] == {"source": "query", "groups": [0, 0, 1, 2, 0, 3, 3, 4]}
    # One line without `query`: no groups for the dataset, and group_by cannot split it.
    lines[5] = _q("b1?", "beta")
    root = _spider_dir(tmp_path, lines)
    assert _spider_build(root, group_by=None)["groups"] == {"source": None, "groups": None}
    with pytest.raises(ValueError) as err:
        _spider_build(root, group_by="query")
    assert str(err.value) == (
        f"datasets.sp: data.split.group_by needs each question's SQL, but 1 of the 8 kept "
        f"questions in {root / 'questions.jsonl'} have no `query` key; add Spider's SQL as "
        "`query` to every line, or set data.split.group_by: null"
    )


# ------------------------------------------------------------------ the split


def test_a_small_assignment_computed_by_hand() -> None:
    # Fractions 0.5/0.25/0.25; 13 rows, so the whole dataset's targets are 6.5, 3.25, 3.25.
    # Class 0: a (rows 0-3), b (4-5), c (6), and row 9 inside x. Class 1: x (7-8 and 9: two
    # of its three rows are class 1, so x is class 1's), y (10), w (11-12). Sizes within a
    # class differ, so the largest-first order does not depend on the shuffle.
    labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1]
    groups = ["a"] * 4 + ["b"] * 2 + ["c", "x", "x", "x", "y", "w", "w"]
    parts = stratified_group_split(labels, groups, SPLIT, seed=0)
    # Class 0 (8 rows): targets 4, 2, 2. a (4) -> train (deficits 4, 2, 2). b (2): deficits 0,
    # 2, 2 tie, and so do the dataset's (3.25, 3.25) -> val, the first. c (1): 0, 0, 2 -> test.
    # Class 1 (5 rows): targets 2.5, 1.25, 1.25. x (3) -> train (2.5 is largest); row 9 goes
    # with it. w (2): deficits 0.5, 1.25, 1.25 tie; the dataset's are val 3.25 - 2 = 1.25, test
    # 3.25 - 1 = 2.25 -> test (a fixed order would say val). y (1): 0.5, 1.25, -0.75 -> val.
    assert parts == (
        ["train"] * 4 + ["val"] * 2 + ["test"] + ["train"] * 3 + ["val"] + ["test"] * 2
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 12)), min_size=1, max_size=80),
    st.tuples(*[st.integers(1, 20) for _ in range(3)]),
    st.integers(0, 2**32),
)
def test_a_group_never_straddles_parts(rows, weights, seed) -> None:
    labels = [y for y, _ in rows]
    groups = [g for _, g in rows]
    fractions = {p: w / sum(weights) for p, w in zip(PARTS, weights, strict=True)}
    parts = stratified_group_split(labels, groups, fractions, seed)
    assert len(parts) == len(rows) and set(parts) <= set(PARTS)
    part_of: dict[int, set[str]] = {}
    for g, part in zip(groups, parts, strict=True):
        part_of.setdefault(g, set()).add(part)
    assert all(len(ps) == 1 for ps in part_of.values())
    assert stratified_group_split(labels, groups, fractions, seed) == parts


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=60),
    st.tuples(*[st.integers(1, 20) for _ in range(3)]),
    st.integers(0, 1000),
)
def test_one_row_groups_meet_each_class_target_within_a_row(labels, weights, seed) -> None:
    # Unit groups, each to the largest deficit: a part left 1 short would have been chosen
    # over the part whose last row took it below 0, so every deficit ends in (-1, 1).
    fractions = {p: w / sum(weights) for p, w in zip(PARTS, weights, strict=True)}
    parts = stratified_group_split(labels, list(range(len(labels))), fractions, seed)
    got = Counter(zip(labels, parts, strict=True))
    for y, n in Counter(labels).items():
        for p in PARTS:
            assert abs(got[y, p] - n * fractions[p]) < 1 + 1e-9


def test_a_fixed_seed_gives_the_same_split_and_seeds_differ() -> None:
    labels = [i % 3 for i in range(60)]
    groups = [i // 2 for i in range(60)]  # 30 groups of two rows, both of one class
    first = stratified_group_split(labels, groups, SPLIT, seed=7)
    assert stratified_group_split(labels, groups, SPLIT, seed=7) == first
    assert any(stratified_group_split(labels, groups, SPLIT, seed=s) != first for s in range(5))


def test_labels_and_groups_of_other_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 labels but 2 groups"):
        stratified_group_split([0, 1, 0], ["a", "b"], SPLIT, seed=0)


# ------------------------------------------------------------------ build_dataset with a CSV


# Class a: groups g1 (3 rows), g2 (2), g3 (1), g4 (1), g5 (1) = 8 rows; class b: groups h1 (2),
# h2 (2), h3 (1), h4 (1) and one row in g1 = 7 rows. g1 holds 3 rows of a and 1 of b.
CSV_LINES = (
    [f"a{i},a,g1" for i in range(3)]
    + ["b0,b,g1"]
    + [f"a{i},a,g2" for i in (3, 4)]
    + ["a5,a, g3 ", "a6,a,g4", "a7,a,g5"]
    + [f"b{i},b,h1" for i in (1, 2)]
    + [f"b{i},b,h2" for i in (3, 4)]
    + ["b5,b,h3", "b6,b,h4"]
)


def test_a_csv_group_column_works_end_to_end(tmp_path: Path) -> None:
    built = _build(_csv(tmp_path, CSV_LINES))
    records, groups = built["records"], built["groups"]
    # " g3 " reads as g3; ids by first appearance in dataset.jsonl (the CSV's order here).
    assert groups == {
        "source": "column:qid",
        "groups": [0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 5, 6, 6, 7, 8],
    }
    part_of = {}
    for r, g in zip(records, groups["groups"], strict=True):
        assert part_of.setdefault(g, r["split"]) == r["split"]
    counts = built["counts"]
    # 15 rows in 9 groups, one of them (g1) spanning both classes.
    assert (counts["split_group_by"], counts["groups"], counts["groups_multi_class"]) == (
        "query",
        9,
        1,
    )
    n = Counter(r["split"] for r in records)
    assert counts["split_fractions"] == {p: round(n[p] / 15, 4) for p in PARTS}
    assert (counts["train"], counts["val"], counts["test"]) == (n["train"], n["val"], n["test"])
    # Every class in every part (build_dataset checks it).
    assert {(r["label"], r["split"]) for r in records} == {(y, p) for y in (0, 1) for p in PARTS}


def test_counts_report_the_achieved_fractions(tmp_path: Path) -> None:
    # Two classes of 8 one-row groups: targets 4, 2, 2 met exactly -> 8, 4, 4 of 16 rows.
    lines = [f"{c}{i},{c},{c}{i}" for c in "ab" for i in range(8)]
    counts = _build(_csv(tmp_path, lines))["counts"]
    assert counts["split_fractions"] == {"train": 0.5, "val": 0.25, "test": 0.25}
    assert (counts["groups"], counts["groups_multi_class"]) == (16, 0)
    # Class a: 4 one-row groups, class b: 3; targets a 2, 1, 1 and b 1.5, 0.75, 0.75; the
    # dataset's 3.5, 1.75, 1.75. a: train; then 1, 1, 1 tie and the dataset's train 2.5 is
    # largest -> train; 0, 1, 1 tie, the dataset's too -> val; then test: a = 2, 1, 1.
    # b: train (1.5); 0.5, 0.75, 0.75 tie, the dataset's val 0.75 = test 0.75 -> val; 0.5,
    # -0.25, 0.75 -> test: b = 1, 1, 1. Together 3, 2, 2 of 7 rows.
    lines = [f"a{i},a,a{i}" for i in range(4)] + [f"b{i},b,b{i}" for i in range(3)]
    counts = _build(_csv(tmp_path, lines), min_questions_per_class=3)["counts"]
    assert (counts["train"], counts["val"], counts["test"]) == (3, 2, 2)
    assert counts["split_fractions"] == {"train": 0.4286, "val": 0.2857, "test": 0.2857}


def test_write_dataset_writes_groups_json(tmp_path: Path) -> None:
    built = _build(_csv(tmp_path, CSV_LINES))
    out = {k: str(tmp_path / f"{k}.json") for k in ("rows", "classes", "counts", "groups")}
    write_dataset(built, out["rows"], out["classes"], out["counts"], out["groups"])
    doc = json.loads(Path(out["groups"]).read_text())
    assert doc == {"source": "column:qid", "groups": built["groups"]["groups"]}
    assert len(doc["groups"]) == len(Path(out["rows"]).read_text().splitlines())


def test_a_csv_without_group_column_has_no_groups(tmp_path: Path) -> None:
    lines = [f"{c}{i},{c},x" for c in "ab" for i in range(8)]
    built = _build(_csv(tmp_path, lines), group_by=None, group_column=None)
    assert built["groups"] == {"source": None, "groups": None}
    # The default split's counts keep their earlier keys.
    assert not {"split_group_by", "groups", "split_fractions"} & set(built["counts"])


def test_the_default_split_is_the_question_level_one(tmp_path: Path) -> None:
    # group_by null: the rows' parts are stratified_split's, whatever the groups say.
    lines = [f"{c}{i},{c},{c}{i // 3}" for c in "abc" for i in range(12)]
    path = _csv(tmp_path, lines)
    built = _build(path, group_by=None)
    labels = [r["label"] for r in built["records"]]
    assert [r["split"] for r in built["records"]] == stratified_split(labels, SPLIT, 0)
    assert built["groups"]["source"] == "column:qid"
    # An explicit null reads as absent, and a grouped split differs (groups of three rows).
    assert _build(path, group_by=None)["records"] == built["records"]
    assert _build(path)["records"] != built["records"]


# ------------------------------------------------------------------ errors


def test_an_empty_group_cell_names_file_line_and_fix(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["a0,a,g1", "a1,a,  ", "a2,a,g2"])
    with pytest.raises(DataError) as err:
        load_csv(path, "text", "label", group_column="qid")
    assert str(err.value) == (
        f"{path}:3: empty group in column 'qid'; fill it in (rows that must stay in one part "
        "share a value) or remove datasets.<name>.group_column"
    )


def test_a_missing_group_column_names_the_key(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["a0,a"], header="text,label")
    with pytest.raises(DataError, match=re.escape("missing column(s) ['qid']")) as err:
        load_csv(path, "text", "label", group_column="qid")
    assert str(err.value).endswith("split_column / group_column")


def test_group_by_on_a_csv_without_group_column_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, [f"{c}{i},{c},x" for c in "ab" for i in range(8)])
    with pytest.raises(ValueError) as err:
        _build(path, group_column=None)
    assert str(err.value) == (
        "data.split.group_by='query' needs the groups of CSV dataset 'toy': set "
        "datasets.toy.group_column to the column whose rows must share a part, or set "
        "data.split.group_by: null"
    )


def test_group_by_with_a_published_split_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["a0,a,g,train"], header="text,label,qid,split")
    with pytest.raises(ValueError) as err:
        _build(path, split_column="split")
    assert str(err.value) == (
        "datasets.toy.split_column and data.split.group_by='query' both set: the published "
        "split is kept as published; remove one of them"
    )


def test_a_class_of_too_few_groups_is_named_with_its_groups(tmp_path: Path) -> None:
    # Class b: 4 rows in 2 groups cannot fill three parts; class a (8 one-row groups) can.
    lines = [f"a{i},a,a{i}" for i in range(8)] + [f"b{i},b,b{i // 2}" for i in range(4)]
    with pytest.raises(ValueError) as err:
        _build(_csv(tmp_path, lines))
    assert str(err.value).startswith(
        "datasets.toy: data.split.group_by keeps each group in one part, which leaves "
        "class(es) 'b' (4 rows in 2 groups: no "
    )
    assert str(err.value).endswith(
        "raise datasets.toy.min_questions_per_class to drop classes of so few groups, or set "
        "data.split.group_by: null"
    )


# ------------------------------------------------------------------ the search's hash


def test_group_by_enters_the_hash_only_when_set() -> None:
    assert hashed_split({**SPLIT, "group_by": None}) == SPLIT
    assert hashed_split({**SPLIT, "group_by": "query"}) == {**SPLIT, "group_by": "query"}


# ------------------------------------------------------------------ the shipped overlay


def test_the_grouped_config_runs_the_spider_datasets_split_by_query() -> None:
    base = merged(ROOT / "config" / "config.yaml")
    cfg = load(merged(ROOT / "config" / "config.yaml", ROOT / "config" / "spider-grouped.yaml"))
    assert cfg.raw["data"]["split"]["group_by"] == "query"
    assert cfg.run_datasets == ("spider-grouped", "spider-heldout-grouped")
    # The default's datasets under names of their own: the default's results stay.
    assert cfg.raw["datasets"]["spider-grouped"] == base["datasets"]["spider"]
    assert cfg.raw["datasets"]["spider-heldout-grouped"] == base["datasets"]["spider-heldout"]
    assert cfg.roles == {"spider": "spider-grouped", "heldout": "spider-heldout-grouped"}
    assert cfg.job_config("spider-grouped", "hhnas")["data"]["split"]["group_by"] == "query"


def test_the_report_names_a_grouped_split_and_its_fractions():
    from hhnas.config.sections import Dataset
    from hhnas.reporting.build import _dataset_entry

    counts = {
        "classes": 2,
        "classes_raw": 2,
        "rows": 20,
        "rows_raw": 20,
        "train": 14,
        "val": 3,
        "test": 3,
        "split_group_by": "query",
        "groups": 9,
        "groups_multi_class": 1,
        "split_fractions": {"train": 0.7, "val": 0.15, "test": 0.15},
    }
    ds = Dataset("g", "spider", min_questions_per_class=3, max_questions_per_class=None)
    notes = _dataset_entry("g", counts, ds)["notes"]
    assert (
        "split by groups (query): all questions of one group in one part; 9 groups, 1 of them "
        "spanning several classes; train / val / test 70.0 / 15.0 / 15.0 % of the rows" in notes
    )
    # The question-level split says nothing about groups.
    plain = {k: v for k, v in counts.items() if not k.startswith(("split_", "groups"))}
    assert not any("group" in n for n in _dataset_entry("g", plain, ds)["notes"])
