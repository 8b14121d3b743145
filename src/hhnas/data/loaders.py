"""Read labelled questions (and database schemas, where there are any) from disk.

Every fault in an input file stops here with a `DataError` naming the file, the line, what is
wrong and how to fix it (docs/algorithm.md, "Bad input data"); nothing malformed reaches the
split or training. Faults that only cost rows (empty questions, unknown databases, small
classes) are dropped and counted in `hhnas.data.prepare.build_dataset` instead.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from hhnas.records import DatabaseSchema

SPIDER_KEYS = ("question", "db_id", "split")
SCHEMA_KEYS = ("table_names", "column_names")
ICONV_FIX = "re-encode it as UTF-8, e.g. `iconv -f latin1 -t utf-8 {name} > {name}.utf8`"


class DataError(ValueError):
    """A dataset file that cannot be read as documented; the message says where and the fix."""


class Question(TypedDict):
    """A labelled question as read, before the class filter and the split; ``split`` only
    from a CSV's `split_column` (None on a row of `exclude_labels`); ``group`` (questions that
    must share a part under `data.split.group_by`) from Spider's `query`, normalised by
    :func:`normalise_sql`, or from a CSV's `group_column`."""

    text: str
    label: str
    split: NotRequired[str | None]
    group: NotRequired[str]


def normalise_sql(query: str) -> str:
    """A Spider question's group: its SQL with whitespace runs collapsed to one space, stripped
    and lower-cased. Nothing else (aliases, quotes, literal case) is touched, so two queries
    group together only when they differ in layout and case alone."""
    return " ".join(query.split()).lower()


def _need(path: Path, key: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: not found. Set config key `{key}` to the directory holding it "
            "(Spider: questions.jsonl and tables.json, see README 'Data')."
        )
    return path


def read_text(path: Path) -> str:
    """The whole file decoded as UTF-8 (a leading byte-order mark is dropped).

    Rule: bytes that are not UTF-8 stop with a `DataError` naming the file, the line and byte
    offset of the first bad byte and the fix (re-encode as UTF-8 with `iconv`), never a bare
    UnicodeDecodeError.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at byte offset "
            f"{exc.start}); {ICONV_FIX.format(name=path.name)}"
        ) from None
    return text.removeprefix("\ufeff")


def load_spider(
    spider_dir: str | os.PathLike, splits: list[str], key: str = "data.spider_dir"
) -> tuple[list[Question], dict[str, DatabaseSchema]]:
    """Questions of the given Spider splits as {text, label}, and each database's schema.

    Rules (each a `DataError` naming file:line): every non-blank line of questions.jsonl must be
    one JSON object with string values for `question`, `db_id` and `split`; blank lines are
    skipped. A `query` key, where present, must be a non-empty string: the question's
    ``group`` is :func:`normalise_sql` of it (a line without one has no group, which only
    `data.split.group_by` needs). An empty question is returned as is (build_dataset drops
    and counts it); so is a db_id that tables.json lacks (dropped and counted as
    rows_dropped_unknown_db there).
    tables.json: see `load_tables`.
    """
    root = Path(spider_dir)
    qpath = _need(root / "questions.jsonl", key)
    tpath = _need(root / "tables.json", key)
    rows: list[Question] = []
    for lineno, line in enumerate(read_text(qpath).split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{qpath}:{lineno}: not valid JSON ({exc.msg}); each line must be one JSON "
                "object like Spider's train_spider.json records"
            ) from None
        if not isinstance(item, dict):
            raise DataError(
                f"{qpath}:{lineno}: expected a JSON object with keys {list(SPIDER_KEYS)}, "
                f"got a JSON {type(item).__name__}; write one question object per line"
            )
        for k in SPIDER_KEYS:
            if k not in item:
                raise DataError(
                    f"{qpath}:{lineno}: missing key `{k}`; every line needs string values for "
                    f"{list(SPIDER_KEYS)}"
                )
            if not isinstance(item[k], str):
                raise DataError(
                    f"{qpath}:{lineno}: key `{k}` is {type(item[k]).__name__} "
                    f"{json.dumps(item[k])[:40]}, not a string; write it as a JSON string"
                )
        query = item.get("query")
        if "query" in item and (not isinstance(query, str) or not query.strip()):
            raise DataError(
                f"{qpath}:{lineno}: key `query` is {json.dumps(query)[:40]}, not the "
                "question's SQL; write it as a non-empty JSON string or leave the key out"
            )
        if item["split"] not in splits:
            continue
        row: Question = {"text": item["question"], "label": item["db_id"]}
        if isinstance(query, str):
            row["group"] = normalise_sql(query)
        rows.append(row)
    return rows, load_tables(tpath)


def load_tables(tpath: Path) -> dict[str, DatabaseSchema]:
    """Each database's schema from Spider's tables.json, by db_id.

    Rules (`DataError`): the file must be UTF-8 JSON (error with its line otherwise) holding a
    list of objects, each with a string `db_id` and lists `table_names` and `column_names` of
    [table index, name] pairs; an entry lacking one names the db_id (or the entry's position)
    and the key.
    """
    try:
        tables = json.loads(read_text(tpath))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{tpath}:{exc.lineno}: not valid JSON ({exc.msg}); use Spider's tables.json as is"
        ) from None
    if not isinstance(tables, list):
        raise DataError(
            f"{tpath}: expected a JSON list of database objects, got a {type(tables).__name__}"
        )
    schemas: dict[str, DatabaseSchema] = {}
    for pos, t in enumerate(tables):
        where = f"{tpath}: entry {pos}"
        if not isinstance(t, dict) or not isinstance(t.get("db_id"), str):
            raise DataError(f"{where}: not an object with a string `db_id`")
        where = f"{tpath}: db_id {t['db_id']!r}"
        for k in SCHEMA_KEYS:
            if not isinstance(t.get(k), list):
                raise DataError(
                    f"{where}: missing or non-list key `{k}`; every database needs "
                    f"{list(SCHEMA_KEYS)} as in Spider's tables.json"
                )
        schemas[t["db_id"]] = schema_of(t, where)
    return schemas


def schema_of(db: dict[str, Any], where: str = "tables.json") -> DatabaseSchema:
    """Natural table and column names; Spider's `*` pseudo-column is dropped."""
    cols = db["column_names"]
    if not all(isinstance(c, list | tuple) and len(c) == 2 and isinstance(c[0], int) for c in cols):
        raise DataError(f"{where}: `column_names` must be a list of [table index, name] pairs")
    return {
        "tables": list(db["table_names"]),
        "columns": [name for tidx, name in cols if tidx >= 0],
    }


SPLIT_VALUES = ("train", "val", "test")


def _check_header(header: list[str], path: Path, line: int) -> None:
    """A column named twice would be read from its first place only, silently."""
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"{path}:{line}: column {name!r} is named twice in the header (columns "
                f"{seen[name]} and {i}); give each column its own name"
            )
        seen[name] = i


def read_csv_header(path: str | os.PathLike) -> list[str]:
    """The header of a CSV file, read alone (the file may be large), checked as load_csv
    checks it: UTF-8, present, no column named twice."""
    p = _need(Path(path), "datasets.<name>.path")
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header: list[str] = []
            for header in reader:
                if header:
                    break
    except UnicodeDecodeError:
        read_text(p)  # names the line and byte of the first bad byte
        raise
    except csv.Error as exc:
        raise DataError(f"{p}:{reader.line_num}: not valid CSV ({exc})") from None
    if not header:
        raise DataError(f"{p}:1: empty file; expected a header line naming the columns")
    _check_header(header, p, reader.line_num)
    return header


def csv_data_rows(
    reader: Iterator[list[str]], where: str | os.PathLike, width: int
) -> Iterator[tuple[int, list[str]]]:
    """The rows a csv.reader has left after the header, each with its line number: blank lines
    (empty or spaces only) skipped; bytes that are not CSV and a row of another field count than
    the header's `width` stop with `where`:line and the fix. The workflow's CSV datasets and
    `hhnas predict --input` read rows here, so both name a bad line alike."""
    while True:
        start = reader.line_num + 1  # type: ignore[attr-defined]
        try:
            r = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{where}:{start}: not valid CSV ({exc})") from None
        if not r or (len(r) == 1 and not r[0].strip()):
            continue
        if len(r) != width:
            raise DataError(
                f"{where}:{start}: {len(r)} field(s), the header has {width}; quote fields "
                'that contain commas ("a, b") and give every row all columns'
            )
        yield start, r


def load_csv(
    path: str | os.PathLike,
    text_column: str,
    label_column: str,
    id_column: str | None = None,
    split_column: str | None = None,
    exclude_labels: tuple[str, ...] = (),
    group_column: str | None = None,
) -> list[Question]:
    """A plain `text,label` CSV: a dataset without schemas (schema-linking features are then zero).

    Rules (`DataError` naming file:line): the file must be UTF-8 with a header line; an empty
    file, a header with no data rows after it, a header without the text, label (or id, or
    split) column, a row whose field count differs from the header's (usually an unquoted
    comma: quote such fields) and a row with an empty label all stop. Blank lines (empty or
    spaces only) are skipped. With `id_column` set, ids must be present and unique: a repeated
    id names both lines. Ids are only checked, not kept: dataset ids are row numbers. With
    `split_column` set, each row's value there must be train, val or test (surrounding spaces
    and case are ignored: " Train " reads as train) and is returned, lower-case, as the row's
    `split`. A row whose label is in `exclude_labels` is returned without a split check (and
    split None): the caller drops and counts it (CLINC150's `oos` rows carry oos_* splits).
    With `group_column` set, each row's value there (surrounding spaces stripped) is its
    ``group``; an empty one stops, except on a row of `exclude_labels` (returned without).
    """
    p = _need(Path(path), "datasets.<name>.path")
    text = read_text(p)
    if not text.strip():
        raise DataError(
            f"{p}:1: empty file; expected a header line naming the columns "
            f"{text_column!r} and {label_column!r}, then one row per question"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        while not header:
            header = next(reader)
    except csv.Error as exc:
        raise DataError(f"{p}:{reader.line_num}: not valid CSV ({exc})") from None
    header_line = reader.line_num
    _check_header(header, p, header_line)
    named = (text_column, label_column, id_column, split_column, group_column)
    wanted = [c for c in named if c is not None]
    missing = [c for c in wanted if c not in header]
    if missing:
        keys = "text_column / label_column / id_column / split_column"
        if group_column is not None:
            keys += " / group_column"
        raise DataError(
            f"{p}:{header_line}: missing column(s) {missing}; found {header}. Rename the "
            f"header or set datasets.<name>.{keys}"
        )
    ti, li = header.index(text_column), header.index(label_column)
    ii = header.index(id_column) if id_column is not None else None
    si = header.index(split_column) if split_column is not None else None
    gi = header.index(group_column) if group_column is not None else None
    rows: list[Question] = []
    seen: dict[str, int] = {}
    for start, r in csv_data_rows(reader, p, len(header)):
        if not r[li].strip():
            raise DataError(f"{p}:{start}: empty label in column {label_column!r}; fill it in")
        if ii is not None:
            rid = r[ii]
            if not rid.strip():
                raise DataError(f"{p}:{start}: empty id in column {id_column!r}; fill it in")
            if rid in seen:
                raise DataError(
                    f"{p}:{start}: duplicate id {rid!r} in column {id_column!r}, first on line "
                    f"{seen[rid]}; give each row its own id or remove the repeated row"
                )
            seen[rid] = start
        row: Question = {"text": r[ti], "label": r[li]}
        if si is not None and r[li] in exclude_labels:
            row["split"] = None
        elif si is not None:
            split = r[si].strip().lower()
            if split not in SPLIT_VALUES:
                raise DataError(
                    f"{p}:{start}: split {r[si]!r} in column {split_column!r} is not one of "
                    f"{', '.join(SPLIT_VALUES)}; write train, val or test (case and surrounding "
                    "spaces are ignored)"
                )
            row["split"] = split
        if gi is not None and r[li] not in exclude_labels:
            group = r[gi].strip()
            if not group:
                raise DataError(
                    f"{p}:{start}: empty group in column {group_column!r}; fill it in (rows "
                    "that must stay in one part share a value) or remove "
                    "datasets.<name>.group_column"
                )
            row["group"] = group
        rows.append(row)
    if not rows:
        raise DataError(
            f"{p}:{header_line}: the file has a header ({', '.join(header)}) but no rows; add "
            "one row per question below the header"
        )
    return rows
