"""The schema (config/schema/config.schema.yaml): where defaults live, and unknown keys."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"
ABLATION_DIR = ROOT / "config" / "ablations"


class ConfigError(ValueError):
    """Every problem found, one per line, each naming the key and what would be valid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config: {p}" for p in self.problems))


# libyaml's loader where PyYAML was built with it: every iteration job reads the schema's
# defaults, and the pure-Python loader takes tens of milliseconds over it.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def read_schema(path: Path = SCHEMA) -> dict[str, Any]:
    """The parsed schema, read once per process: callers must not modify it."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_LOADER)


@cache
def section_defaults(section: str) -> dict[str, Any]:
    """The schema's defaults of one section (dotted: "search.optuna"): the only place they are
    written."""
    node = read_schema()
    for part in section.split("."):
        node = node["properties"][part]
    props = node.get("properties", {})
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


@cache
def definition_default(definition: str, key: str) -> Any:
    """The default a `$defs` entry gives `key` (searching its `allOf` parts too)."""
    node = read_schema()["$defs"][definition]
    for part in [node, *node.get("allOf", [])]:
        prop = part.get("properties", {}).get(key, {})
        if "default" in prop:
            return prop["default"]
    raise KeyError(f"$defs.{definition}.{key} has no default")


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


# Keys and values renamed so that "rule" means a Snakemake rule only (the schema-linking
# features were the "rule features"); an old configuration is told the new name.
RENAMED = {
    "comparison.rule_channel": "comparison.linking_channel",
    "search.mean_rule": "search.mean_update",
    "search.variance_rule": "search.variance_update",
}
RENAMED_VALUES = {"comparison.baselines": {"rule-argmax": "linking-argmax"}}
# Figures measured on another machine, pasted into the config, read as this run's in the report
# (issue 23): they moved to a versioned file, each with its provenance.
MOVED = dict.fromkeys(
    ("reference.points", "reference.notes", "reference.verdict"), "report/references.yaml"
)
# Keys whose value changed form: the old form, recognised by its type, is refused with the new
# one written out ({old}: the value found). Issue 23: `final.ensemble` became a mapping.
OLD_FORMS: dict[str, tuple[type, str]] = {
    "final.ensemble": (
        int,
        "`final.ensemble: {old}` is the old form: final.ensemble is now a mapping; write "
        "`final.ensemble: {{method: mean, candidates: {old}}}` for the same model as before, or "
        "`final.ensemble: {{candidates: {old}}}` for greedy selection over the top {old} and "
        "TF-IDF (the default method)",
    )
}


def _old_forms(config: Mapping[str, Any]) -> list[str]:
    out = []
    for path, (old_type, message) in OLD_FORMS.items():
        value: Any = config
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        # bool is an int to Python, never to YAML's reader of a count.
        if isinstance(value, old_type) and not isinstance(value, bool):
            out.append(message.format(old=value))
    return out


def _renamed_values(config: Mapping[str, Any]) -> list[str]:
    out = []
    for path, renamed in RENAMED_VALUES.items():
        value: Any = config
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        for old in value if isinstance(value, list) else []:
            if old in renamed:
                new = renamed[old]
                out.append(f"`{path}`: {old!r} was renamed {new!r}: rename it in your config")
    return out


def _unknown(value: Any, node: dict[str, Any], root: dict[str, Any], where: str) -> list[str]:
    node = _resolve(node, root)
    if not isinstance(value, dict) or not isinstance(node, dict):
        return []
    props = node.get("properties", {})
    extra = node.get("additionalProperties", True)
    out = []
    for key, sub in value.items():
        path = f"{where}.{key}" if where else str(key)
        if key in props:
            out += _unknown(sub, props[key], root, path)
        elif isinstance(extra, dict):
            out += _unknown(sub, extra, root, path)
        elif path in RENAMED:
            out.append(f"`{path}` was renamed `{RENAMED[path]}`: rename it in your config")
        elif path in MOVED:
            out.append(
                f"`{path}` is no longer read from the config: figures measured elsewhere live "
                f"in {MOVED[path]}, each with who measured it, when, on which machine, config "
                "and commit (its header gives the shape); move each entry there and delete "
                "the key"
            )
        elif extra is False:
            close = difflib.get_close_matches(str(key), list(props), n=1, cutoff=0.6)
            hint = f"; did you mean `{f'{where}.' if where else ''}{close[0]}`?" if close else ""
            allowed = ", ".join(props) or "none"
            out.append(f"`{path}` is not a known key{hint} (allowed here: {allowed})")
    return out


def check_unknown_keys(config: Mapping[str, Any], schema: dict[str, Any] | None = None) -> None:
    """Refuse keys the schema does not know, naming the closest valid key."""
    schema = schema or read_schema()
    problems = (
        _unknown(dict(config), schema, schema, "") + _renamed_values(config) + _old_forms(config)
    )
    if problems:
        raise ConfigError(problems)


def schema_validator(schema_path: Path = SCHEMA) -> Callable[[dict[str, Any]], None]:
    """Snakemake's own `validate` (it fills the schema's defaults), as the workflow calls it."""
    from snakemake.utils import validate

    def run(cfg: dict[str, Any]) -> None:
        validate(cfg, schema=str(schema_path))

    return run
