"""Rules that span keys, checked before any job; each returns the problems it finds.

:func:`check` collects every problem in one :class:`ConfigError` so that a user fixes them in
one go; :func:`from_validated` builds the typed :class:`Config` after it, and :func:`load` does
what the workflow does (unknown keys, schema with its defaults, then these rules) for tests and
tools.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from hhnas.config.schema import (
    ABLATION_DIR,
    SCHEMA,
    ConfigError,
    check_unknown_keys,
    read_schema,
    schema_validator,
    section_defaults,
)
from hhnas.config.sections import (
    ROLE_OUTPUTS,
    Analysis,
    Config,
    RuleResources,
    comparison_section,
    dataset_spec,
    final_section,
    parameters,
    predict_section,
    searched_datasets,
    shared_dirs,
    study_section,
    typed_section,
)
from hhnas.config.variants import (
    comparison_variants,
    deep_merge,
    main_variant,
    study_variants,
    surrogate_variants,
    variant_search,
)

# What each micro parameter must be for the templates that read it (hhnas.models.hybrid).
INTEGER_PARAMETERS = ("layer_size1", "layer_size2", "kernel_size")
SPLIT_TOLERANCE = 1e-6


def _close(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def split_problems(split: Mapping[str, float]) -> list[str]:
    total = sum(float(split[k]) for k in ("train", "val", "test"))
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        parts = " + ".join(f"{k} {split[k]}" for k in ("train", "val", "test"))
        return [
            f"data.split: {parts} = {total:g}; the three fractions must sum to 1 "
            "(e.g. train: 0.70, val: 0.15, test: 0.15)"
        ]
    return []


def parameter_problems(search: Mapping[str, Any], where: str = "search") -> list[str]:
    out = []
    for p in parameters(search):
        key = f"{where}.parameters.{p.name}"
        if p.type == "continuous":
            if p.low is None or p.high is None:
                out.append(f"{key}: a continuous parameter needs `low` and `high`")
                continue
            if p.choices:
                out.append(f"{key}.choices: only discrete parameters take choices")
            if not p.low < p.high:
                out.append(f"{key}: low={p.low} must be below high={p.high}")
                continue
            if p.log and p.low <= 0:
                out.append(f"{key}.low={p.low}: must be > 0 with log: true (log10 of it is taken)")
                continue
            if not isinstance(p.initial, (int, float)) or not p.low <= p.initial <= p.high:
                out.append(
                    f"{key}.initial={p.initial!r} is outside [low, high] = [{p.low}, {p.high}]"
                )
        else:
            if not p.choices:
                out.append(f"{key}: a discrete parameter needs `choices`")
                continue
            if p.low is not None or p.high is not None:
                out.append(f"{key}: low/high apply to continuous parameters; list `choices`")
            if p.name in INTEGER_PARAMETERS:
                bad = [c for c in p.choices if type(c) is not int or c < 1]
                if bad:
                    out.append(
                        f"{key}.choices: {bad} not allowed; {p.name} is a size, a whole number >= 1"
                    )
            if p.initial not in p.choices:
                out.append(f"{key}.initial={p.initial!r} is not one of choices {list(p.choices)}")
        if p.name in INTEGER_PARAMETERS and p.type != "discrete":
            out.append(f"{key}.type: {p.name} is a size the models read as an integer: discrete")
    macro = search["macro"]
    if not any(macro["mutable"]) and not any(p.mutable for p in parameters(search)):
        out.append(
            f"{where}: nothing is mutable; set {where}.macro.mutable or some "
            f"{where}.parameters.*.mutable to true"
        )
    if float(search["var_min"]) > float(search["var_max"]):
        out.append(
            f"{where}.var_min={search['var_min']} and {where}.var_max={search['var_max']}: "
            "a range, var_min must be at most var_max"
        )
    elif not float(search["var_min"]) <= float(search["var_init"]) <= float(search["var_max"]):
        out.append(
            f"{where}.var_init={search['var_init']} must lie in [var_min, var_max] = "
            f"[{search['var_min']}, {search['var_max']}]"
        )
    if search.get("q_update") == "ema" and not 0 < float(search["q_alpha"]) <= 1:
        out.append(
            f"{where}.q_alpha={search['q_alpha']}: with q_update: ema it is the step of "
            "Q <- Q + q_alpha (value - Q) and must lie in (0, 1]"
        )
    return out


def dataset_problems(config: Mapping[str, Any]) -> list[str]:
    out = []
    known = list(config["datasets"])
    runs = list(config["run_datasets"])
    for name in sorted({n for n in runs if runs.count(n) > 1}):
        out.append(f"run_datasets: {name!r} is listed twice")
    for name in runs:
        if name not in config["datasets"]:
            out.append(
                f"run_datasets names {name!r}, which is not a key of `datasets`"
                f"{_close(name, known)} (known: {', '.join(known)})"
            )
    for role, name in (config.get("tables") or {}).items():
        if name is not None and name not in config["datasets"]:
            out.append(
                f"tables.{role}={name!r} is not a key of `datasets`{_close(name, known)} "
                f"(known: {', '.join(known)}; or null for no dataset in that role)"
            )
    study = config.get("study") or {}
    variants = list(study.get("variants") or [])
    for ref in study["reference"] if study else []:
        if ref not in variants:
            out.append(
                f"study.reference names {ref!r}, which is not one of study.variants "
                f"({', '.join(variants)}){_close(ref, variants)}"
            )
    for name in study["datasets"] if study else []:
        if name not in config["datasets"]:
            out.append(
                f"study.datasets names {name!r}, which is not a key of `datasets`"
                f"{_close(name, known)} (known: {', '.join(known)})"
            )
    cmp_name = (config.get("comparison") or {}).get("dataset")
    if cmp_name is not None and cmp_name not in runs:
        out.append(
            f"comparison.dataset={cmp_name!r} must be one of run_datasets "
            f"({', '.join(runs)}){_close(cmp_name, runs)}, or null for the first of them"
        )
    for name, spec in config["datasets"].items():
        key = f"datasets.{name}"
        if spec["format"] == "csv":
            if not spec.get("path"):
                out.append(f"{key}.path: a csv dataset needs the path of its CSV file")
            for k in ("splits", "spider_dir"):
                if k in spec:
                    out.append(f"{key}.{k}: only for format spider")
            if "merge_similar_schemas" in spec:
                out.append(
                    f"{key}.merge_similar_schemas: only for format spider (a CSV has no schemas)"
                )
        else:
            csv_only = ("path", "text_column", "label_column", "id_column", "split_column")
            for k in csv_only + ("exclude_labels", "group_column"):
                if k in spec:
                    out.append(f"{key}.{k}: only for format csv")
            if not spec.get("splits"):
                out.append(f"{key}.splits: name Spider's splits to read (train_spider, ...)")
    return out + group_by_problems(config)


def group_by_problems(config: Mapping[str, Any]) -> list[str]:
    """`data.split.group_by` against each dataset a job prepares: a CSV needs its group column,
    and a published split (`split_column`) is kept as published, never regrouped."""
    group_by = config["data"]["split"].get("group_by")
    if group_by is None:
        return []
    out = []
    for name in searched_datasets(config):
        spec = config["datasets"].get(name)
        if spec is None:
            continue  # named in run_datasets by mistake: dataset_problems says so
        key = f"datasets.{name}"
        if spec.get("split_column") is not None:
            out.append(
                f"{key}.split_column and data.split.group_by={group_by!r} both set: the "
                "published split is kept as published; remove one of them"
            )
        elif spec["format"] == "csv" and spec.get("group_column") is None:
            out.append(
                f"data.split.group_by={group_by!r} needs the groups of CSV dataset {name!r}: "
                f"set {key}.group_column to the column whose rows must share a part, or set "
                "data.split.group_by: null"
            )
    return out


def variant_problems(
    config: Mapping[str, Any],
    searches: Mapping[str, dict[str, Any]],
    validate: Callable[[dict[str, Any]], None] | None,
) -> list[str]:
    out = []
    main = main_variant(dict(config))
    base = {k: v for k, v in config["search"].items() if k != "strategy"}
    for variant, search in searches.items():
        if variant != main and {k: v for k, v in search.items() if k != "strategy"} == base:
            continue  # another strategy over the same space: its problems are the main one's
        where = "search" if variant == main else f"search (variant {variant!r})"
        if variant != main and validate is not None:
            # An ablation's merged search config must satisfy the schema the main one did.
            try:
                validate({**config, "search": copy.deepcopy(search)})
            except Exception as exc:  # noqa: BLE001 - the schema library's own error types
                out.append(f"{where}: {str(exc).splitlines()[0]}")
                continue
        out += parameter_problems(search, where)
    return out


def resolve_roles(config: Mapping[str, Any]) -> dict[str, str]:
    """Roles whose dataset is run; a role naming a dataset not run is simply absent."""
    runs = list(config["run_datasets"])
    tables = config.get("tables") or {}
    return {r: tables[r] for r in ROLE_OUTPUTS if tables.get(r) in runs}


def check(
    config: Mapping[str, Any],
    validate: Callable[[dict[str, Any]], None] | None = None,
    ablation_dir: Path = ABLATION_DIR,
) -> dict[str, dict[str, Any]]:
    """Every cross-field rule; returns each variant's search config. Raises ConfigError."""
    problems = (
        split_problems(config["data"]["split"]) + dataset_problems(config) + final_problems(config)
    )
    searches: dict[str, dict[str, Any]] = {}
    try:
        main = main_variant(dict(config))
        names = [main] + [
            v
            for v in comparison_variants(dict(config))
            + study_variants(dict(config))
            + surrogate_variants(dict(config))
            if v != main
        ]
        names = list(dict.fromkeys(names))
        for v in names:
            searches[v] = variant_search(dict(config), v, str(ablation_dir))
    except ValueError as exc:
        problems.append(str(exc))
    problems += variant_problems(config, searches, validate)
    problems += study_problems(config, searches)
    if problems:
        raise ConfigError(problems)
    return searches


def from_validated(
    config: dict[str, Any],
    validate: Callable[[dict[str, Any]], None] | None = None,
    ablation_dir: Path = ABLATION_DIR,
) -> Config:
    """The typed config of a schema-validated (defaults filled) mapping, after :func:`check`
    (files on disk are hhnas.preflight's business)."""
    searches = check(config, validate, ablation_dir)
    main = main_variant(config)
    compared = tuple(comparison_variants(config))
    runs = tuple(config["run_datasets"])
    res = config["resources"]
    cfg = Config(
        raw=config,
        run_datasets=runs,
        datasets={n: dataset_spec(n, s) for n, s in config["datasets"].items()},
        roles=resolve_roles(config),
        comparison=comparison_section(config),
        resources={
            k: RuleResources(int(v["mem_mb"]), int(v["runtime"]), int(v["threads"]))
            for k, v in res.items()
        },
        experiments=int(config["search"]["experiments"]),
        iterations=int(config["search"]["iterations"]),
        main_variant=main,
        variants=tuple(searches),
        compared=compared,
        variant_search=searches,
        study=study_section(config),
        final=final_section(config),
        analysis=typed_section(Analysis, "analysis", config),
        predict=predict_section(config),
        variant_dir=shared_dirs(searches),
    )
    size = workflow_size_problems(cfg)
    if size:
        raise ConfigError(size)
    return cfg


def final_problems(config: Mapping[str, Any]) -> list[str]:
    final = final_section(config)
    ens = final.ensemble
    if final.finetune.enabled and (ens.method, ens.candidates) != ("mean", 1):
        return [
            f"final.finetune.enabled with final.ensemble {{method: {ens.method}, candidates: "
            f"{ens.candidates}}}: a fine-tuned final model is one candidate with its own encoder; "
            "set final.ensemble: {method: mean, candidates: 1} or final.finetune.enabled: false"
        ]
    # More candidates than the search made is not an error: the pool is every successful
    # one (hhnas.final.selection.select_candidates), so the default fits a small search too.
    return []


def workflow_size_problems(cfg: Config) -> list[str]:
    """A workflow Snakemake would take minutes to plan is refused at once, with the limit."""
    limit = int(cfg.raw["execution"]["max_iteration_jobs"])
    jobs = cfg.iteration_jobs
    if jobs <= limit:
        return []
    return [
        f"this configuration makes {jobs:,} search iteration jobs, more than "
        f"execution.max_iteration_jobs={limit:,} (Snakemake plans every job before the first "
        "one runs, which takes minutes at this size). Lower search.experiments, "
        "search.iterations or study.experiments, or raise execution.max_iteration_jobs"
    ]


def study_problems(
    config: Mapping[str, Any], searches: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What the study needs of its variants and seeds, before any job."""
    raw = config.get("study")
    if not raw:
        return []
    out = []
    spec = {**section_defaults("study"), **raw}
    if int(spec["search_seed"]) == int(config["search"]["seed"]):
        out.append(
            f"study.search_seed={spec['search_seed']} equals search.seed: the confirmatory runs "
            "would reuse the seeds the default was chosen on; set study.search_seed to another "
            "value (docs/study.md, 'Seeds')"
        )
    surrogate = {**section_defaults("study.surrogate"), **(spec.get("surrogate") or {})}
    used = {int(config["search"]["seed"]), int(spec["search_seed"])}
    if int(surrogate["search_seed"]) in used:
        out.append(
            f"study.surrogate.search_seed={surrogate['search_seed']} is also search.seed or "
            "study.search_seed: give the surrogate benchmark seeds of its own"
        )
    names = list(spec.get("surrogate_variants") or spec["variants"])
    for ref in spec["reference"]:
        if ref not in names:
            out.append(
                f"study.reference names {ref!r}, which study.surrogate_variants leaves out: "
                "every reference must run against the surrogate too"
            )
    accuracy = section_defaults("search.reward")["objective"]
    for v in names:
        reward = {**section_defaults("search.reward"), **(searches.get(v, {}).get("reward") or {})}
        objective = reward["objective"]
        if objective != accuracy:
            out.append(
                f"study.surrogate_variants: {v!r} maximises {objective}, which needs a measured "
                "cost the surrogate does not model; leave it out of surrogate_variants"
            )
    return out


def load(raw: Mapping[str, Any], schema_path: Path = SCHEMA) -> Config:
    """Unknown keys, schema (with its defaults) and every cross-field rule, as the workflow
    does it; for tests and tools that start from a merged mapping."""
    config = copy.deepcopy(dict(raw))
    if "backbone_path" in config:
        config["backbone"]["path"] = str(config.pop("backbone_path"))
    check_unknown_keys(config, read_schema(schema_path))
    validate = schema_validator(schema_path)
    validate(config)
    return from_validated(config, validate)


def merged(*paths: str | Path) -> dict[str, Any]:
    """Config files merged as Snakemake merges --configfile (later wins, mappings key by key)."""
    out: dict[str, Any] = {}
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            out = deep_merge(out, yaml.safe_load(fh) or {})
    return out
