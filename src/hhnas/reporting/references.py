"""Figures the workflow does not compute, read from report/references.yaml and shown only with
their provenance.

Every figure in the report is either computed by the run or a reference labelled with who
measured it, when, on which machine, with which config and commit (issue 23). A reference
lives in that versioned file, never in a config string: pasted into the config, a figure from
another machine read as this run's.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

import yaml

FILE = Path(__file__).resolve().parents[3] / "report" / "references.yaml"
VERSION = 1
# Opens every paragraph that shows a reference; the template styles such paragraphs and the
# tests tell them from the run's own by it.
LABEL = "Reference, not this run"


class MeasuredReference(TypedDict):
    """One entry of report/references.yaml (its header describes each key)."""

    id: str
    shown_in: Literal["notes", "verdict"]
    text: str
    test_accuracy: NotRequired[float]
    datasets: list[str]
    split: str
    measured_by: str
    date: str
    machine: str
    config: str
    commit: str


# The fix each key's problem message names.
FIX = {
    "id": "a unique name of lower-case words joined by '-', e.g. tfidf-svm",
    "shown_in": "notes (the report's Notes) or verdict (after the final model's paragraphs)",
    "text": "the claim, its figures written out",
    "test_accuracy": "the reference point's test accuracy in percent (0-100), as in `text`",
    "datasets": "a list of the config's dataset names it concerns, e.g. [spider]",
    "split": "which split, e.g. 'default split (stratified 70/15/15, split_seed 0)'",
    "measured_by": "who or what measured it: the session, the script and its command",
    "date": "YYYY-MM-DD, then any qualifier",
    "machine": "the CPU model (cores, threads), or 'unknown (not recorded)'",
    "config": "the configuration it ran with, e.g. 'config/config.yaml at <commit>'",
    "commit": "the commit it ran at, or 'unknown (not recorded)' and what bounds it",
}
REQUIRED = tuple(k for k in FIX if k != "test_accuracy")
_STRINGS = ("text", "split", "measured_by", "date", "machine", "config", "commit")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?!\d)")


class ReferencesError(ValueError):
    """Every problem of a references file, one per line, each naming the file, the entry, the
    key and the fix."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


def load_references(path: str | Path = FILE) -> list[MeasuredReference]:
    """The file's entries, checked (:func:`check_references`)."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferencesError(
            where, ["not found: restore it from git, or write `version: 1` and `references: []`"]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferencesError(where, [f"not valid YAML: {exc}"]) from None
    return check_references(data, where)


def check_references(data: Any, where: str) -> list[MeasuredReference]:
    """The entries of a parsed references file; raises ReferencesError with every problem."""
    if not isinstance(data, dict):
        raise ReferencesError(
            where, ["must be a mapping with `version: 1` and a `references` list"]
        )
    problems = []
    if data.get("version") != VERSION:
        problems.append(
            f"`version` is {data.get('version')!r}: this code reads version {VERSION}; "
            f"write `version: {VERSION}` and the entries in its shape"
        )
    for key in data:
        if key not in ("version", "references"):
            problems.append(f"`{key}` is not a known key (allowed: version, references)")
    entries = data.get("references")
    if not isinstance(entries, list):
        raise ReferencesError(
            where, [*problems, "`references` must be a list of entries (`[]` for none)"]
        )
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        name = f"references[{i}]"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            name += f" (id {entry['id']!r})"
            if entry["id"] in first:
                problems.append(
                    f"{name}: id {entry['id']!r} is used by references[{first[entry['id']]}] "
                    "too: give each entry its own id"
                )
            first.setdefault(entry["id"], i)
        problems += [f"{name}: {p}" for p in _entry_problems(entry)]
    if problems:
        raise ReferencesError(where, problems)
    return [cast(MeasuredReference, _normalised(e)) for e in entries]


def _normalised(entry: dict[str, Any]) -> dict[str, Any]:
    # YAML reads an unquoted 2026-12-02 as a date: the report shows the text as written.
    date = entry["date"]
    return {**entry, "date": date.isoformat() if isinstance(date, _dt.date) else date}


def _entry_problems(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return [f"must be a mapping of {', '.join(REQUIRED)}"]
    out = []
    for key in entry:
        if key not in FIX:
            close = difflib.get_close_matches(str(key), list(FIX), n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            out.append(f"`{key}` is not a known key{hint} (allowed: {', '.join(FIX)})")
    for key in REQUIRED:
        if key not in entry:
            out.append(f"`{key}` is missing: write {FIX[key]}")
    entry = _normalised(entry) if "date" in entry else entry
    for key in _STRINGS:
        value = entry.get(key)
        if key in entry and (not isinstance(value, str) or not value.strip()):
            out.append(f"`{key}` is {value!r}, not a non-empty string: write {FIX[key]}")
    if "id" in entry and not (isinstance(entry["id"], str) and _ID.match(entry["id"])):
        out.append(f"`id` is {entry['id']!r}: write {FIX['id']}")
    if "shown_in" in entry and entry["shown_in"] not in ("notes", "verdict"):
        out.append(f"`shown_in` is {entry['shown_in']!r}: write {FIX['shown_in']}")
    datasets = entry.get("datasets")
    if "datasets" in entry and not (
        isinstance(datasets, list) and datasets and all(isinstance(d, str) and d for d in datasets)
    ):
        out.append(f"`datasets` is {datasets!r}: write {FIX['datasets']}")
    if isinstance(entry.get("date"), str) and not _DATE.match(entry["date"]):
        out.append(f"`date` is {entry['date']!r}: write {FIX['date']}")
    if "test_accuracy" in entry:
        out += _test_accuracy_problems(entry["test_accuracy"], entry.get("text"))
    return out


def _test_accuracy_problems(value: Any, text: Any) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return [f"`test_accuracy` is {value!r}: write {FIX['test_accuracy']}"]
    # The report compares with the number and prints the text: they must not disagree.
    if isinstance(text, str) and f"{value:g}" not in text:
        return [
            f"`test_accuracy` {value:g} does not appear in `text`: write the figure into the "
            "claim, or correct one of the two"
        ]
    return []


def shown(
    references: list[MeasuredReference], dataset: str, where: Literal["notes", "verdict"]
) -> list[MeasuredReference]:
    """The entries about ``dataset`` that belong in ``where``, in the file's order."""
    return [r for r in references if r["shown_in"] == where and dataset in r["datasets"]]


def labelled(ref: MeasuredReference) -> str:
    """The paragraph the report shows: the label and the provenance, then the claim."""
    return (
        f"{LABEL} — measured by {ref['measured_by']} on {ref['date']}; machine: "
        f"{ref['machine']}; config: {ref['config']}; commit: {ref['commit']}; data: "
        f"{', '.join(ref['datasets'])}, {ref['split']}. {ref['text']}"
    )
