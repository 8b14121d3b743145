"""README's table from each rule to its script and function stays true: every rule of rules/ is
in it once, every script exists, and the script (or, for the iteration rules, the job it starts)
calls the function named, which exists."""

from __future__ import annotations

import importlib
import re

from conftest import ROOT

RULE = re.compile(r"^\s*(?:rule|checkpoint) (\w+):|^\s*use rule \w+ as (\w+)", re.M)
ROW = re.compile(r"^\| `(\w+)` \| (.+?) \| `([\w.]+)` \|$", re.M)


def _table() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Each rule's code") :]
    section = section[: section.index("\n## ")]
    return ROW.findall(section)


def _rules() -> list[str]:
    names = []
    for path in sorted((ROOT / "rules").glob("*.smk")):
        names += [a or b for a, b in RULE.findall(path.read_text(encoding="utf-8"))]
    return names


def test_every_rule_is_in_the_table_once():
    rules = _rules()
    listed = [r for r, _, _ in _table()]
    assert len(rules) == len(set(rules)) > 20
    assert sorted(listed) == sorted(rules)


def test_each_script_exists_and_calls_the_function_named():
    for rule, script, function in _table():
        module, name = function.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), function
        paths = re.findall(r"`(scripts/[\w.]+\.py)`", script)
        if not paths:  # "as search_iteration": the same script and job
            continue
        source = (ROOT / paths[0]).read_text(encoding="utf-8")
        if rule == "search_iteration":
            # The script names the job; the job runs the function (hhnas.jobs).
            assert "run_job" in source
            source = (ROOT / "src/hhnas/jobs/__init__.py").read_text(encoding="utf-8")
        assert re.search(rf"\b{name}\b", source), f"{paths[0]} does not call {name}"
