"""Defaults live in the schema alone (config/schema/config.schema.yaml).

A `.get("<key>", <value>)` in the package, for a key the schema gives a default, writes that
default a second time, where it can drift (the warm worker's `warm_worker` once defaulted to
False in Python and to true in the schema). Code reads the validated config, the typed sections
or hhnas.config.section_defaults instead.
"""

from __future__ import annotations

import ast
from typing import Any

import yaml
from conftest import ROOT

SCHEMA = yaml.safe_load((ROOT / "config" / "schema" / "config.schema.yaml").read_text())


def schema_default_keys(schema: dict[str, Any]) -> set[str]:
    """Every property name the schema gives a default, anywhere ($defs and allOf included)."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and "default" in sub:
                    keys.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return keys


def repeated_defaults(source: str, keys: set[str]) -> list[tuple[int, str, Any]]:
    """(line, key, value) of each `.get(key, literal)` with a schema-default key; a literal
    None is "absent", not a default."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "get" or len(node.args) != 2:
            continue
        key, default = node.args
        if not (isinstance(key, ast.Constant) and key.value in keys):
            continue
        try:
            value = ast.literal_eval(default)
        except ValueError:
            continue
        if value is not None:
            out.append((node.lineno, key.value, value))
    return out


def test_the_scan_finds_a_repeated_default() -> None:
    keys = schema_default_keys(SCHEMA)
    assert {"top_k", "warm_worker", "tfidf_c_grid", "mutable", "epochs"} <= keys
    source = 'k = cfg.get("top_k", 3)\nw = cfg.get("warm_worker", False)\nx = cfg.get("top_k")\n'
    assert repeated_defaults(source, keys) == [(1, "top_k", 3), (2, "warm_worker", False)]


def test_no_schema_default_is_repeated_in_the_package() -> None:
    keys = schema_default_keys(SCHEMA)
    found = [
        f"{path.relative_to(ROOT)}:{line}: .get({key!r}, {value!r})"
        for path in sorted((ROOT / "src" / "hhnas").rglob("*.py"))
        for line, key, value in repeated_defaults(path.read_text(encoding="utf-8"), keys)
    ]
    assert found == []
