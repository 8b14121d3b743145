"""The workflow's configuration, owned in one place.

`load` (tests, tools) and the workflow (rules/common.smk: `check_unknown_keys`, Snakemake's
`validate`, then `from_validated`) build one typed :class:`Config` from the merged YAML:

1. unknown keys are refused with the closest valid key (:func:`check_unknown_keys`), before the
   schema's own message, which only says "Additional properties are not allowed";
2. the JSON schema (config/schema/config.schema.yaml) checks types and ranges and fills in its
   defaults, the only place defaults live;
3. :func:`check` applies every rule that spans keys (split fractions, ranges and initial values,
   dataset, role and variant references, sizes against the search's budget, the workflow's
   size), collecting all problems in one :class:`ConfigError` so a user fixes them in one go,
   before any job.

What needs the files on disk (datasets, CSV headers and rows, the backbone, the LLM's number of
blocks) is hhnas.preflight's, a layer above: this module reads nothing but the configuration.

The typed sections are read-only views; the raw mapping stays the source of the jobs' config
hash (hhnas.jobs.iteration), so a finished search keeps matching its state files.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from hhnas.variants import (
    comparison_variants,
    main_variant,
    study_variants,
    surrogate_variants,
    variant_search,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"
ABLATION_DIR = ROOT / "config" / "ablations"

# What each micro parameter must be for the templates that read it (hhnas.models.hybrid).
INTEGER_PARAMETERS = ("layer_size1", "layer_size2", "kernel_size")
# Paper roles: which dataset feeds which of the paper's tables and figures.
ROLE_OUTPUTS = {
    "spider": ("table2", "table3", "figure3", "figure4"),
    "heldout": ("table1",),
}
SPLIT_TOLERANCE = 1e-6


class ConfigError(ValueError):
    """Every problem found, one per line, each naming the key and what would be valid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"config: {p}" for p in self.problems))


# ---------------------------------------------------------------------------------------------
# Unknown keys


def read_schema(path: Path = SCHEMA) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def section_defaults(section: str) -> dict[str, Any]:
    """The schema's defaults of one section (dotted: "search.optuna"): the only place they are
    written."""
    node = read_schema()
    for part in section.split("."):
        node = node["properties"][part]
    props = node.get("properties", {})
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


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
        elif extra is False:
            close = difflib.get_close_matches(str(key), list(props), n=1, cutoff=0.6)
            hint = f"; did you mean `{f'{where}.' if where else ''}{close[0]}`?" if close else ""
            allowed = ", ".join(props) or "none"
            out.append(f"`{path}` is not a known key{hint} (allowed here: {allowed})")
    return out


def check_unknown_keys(config: Mapping[str, Any], schema: dict[str, Any] | None = None) -> None:
    """Refuse keys the schema does not know, naming the closest valid key."""
    schema = schema or read_schema()
    problems = _unknown(dict(config), schema, schema, "")
    if problems:
        raise ConfigError(problems)


# ---------------------------------------------------------------------------------------------
# Typed sections


@dataclass(frozen=True)
class Dataset:
    name: str
    format: str
    min_questions_per_class: int
    max_questions_per_class: int | None
    spider_dir: str | None = None
    splits: tuple[str, ...] = ()
    path: str | None = None
    # csv only; the schema fills their defaults in for csv datasets.
    text_column: str | None = None
    label_column: str | None = None
    id_column: str | None = None
    split_column: str | None = None
    exclude_labels: tuple[str, ...] = ()
    merge_similar_schemas: float | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    initial: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    mutable: bool = True


CASTS = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "tuple[float, ...]": lambda v: tuple(float(x) for x in v),
}


def _typed(cls: type, section: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar fields of a typed section, cast to their annotated types (`raw` aside)."""
    names = [f for f in fields(cls) if f.name != "raw"]
    missing = [f.name for f in names if f.name not in values]
    if missing:
        raise ConfigError([f"{section}.{k}: required (no default)" for k in missing])
    return {f.name: CASTS[str(f.type)](values[f.name]) for f in names}


@dataclass(frozen=True)
class Training:
    """`training`: how every candidate trains (hhnas.training)."""

    epochs: int
    batch_size: int
    cnn_filters: int
    momentum: float
    weight_decay: float
    threads: int
    gpu: int
    class_readout: bool
    lr_schedule: str
    warmup_ratio: float
    grad_clip: float
    head_lr_scale: float
    amp: str
    compile: bool

    @classmethod
    def from_mapping(cls, section: Training | Mapping[str, Any]) -> Training:
        """The typed section; keys the mapping lacks take the schema's defaults."""
        if isinstance(section, Training):
            return section
        return cls(**_typed(cls, "training", {**section_defaults("training"), **section}))


# Search keys added after the paper-literal reading of 2026-11 (state format 2). Absent, they mean
# what the search did before them; search_config_hash leaves them out while they say so, so that
# the paper-literal configuration keeps its hash and byte-identical state files.
SEARCH_ADDED: dict[str, Any] = {"reward_baseline": "all", "credit": "full", "q_prior_weight": 1.0}


def hashed_search(search: Mapping[str, Any], budget_keys: tuple[str, ...]) -> dict[str, Any]:
    """The part of `search` that decides a search's outcome: without the run length, without
    an added key at its earlier meaning, and without q_prior_weight unless q_update reads it."""
    out = {k: v for k, v in search.items() if k not in budget_keys}
    if out.get("q_update") != "mean":
        out.pop("q_prior_weight", None)
    for key in ("reward_baseline", "credit"):
        if key in out and out[key] == SEARCH_ADDED[key]:
            del out[key]
    return out


@dataclass(frozen=True)
class Search:
    """`search`: what a strategy reads (hhnas.search); the space itself is built from `raw`
    by hhnas.search.space, and `reward` by hhnas.objective."""

    raw: dict[str, Any] = field(repr=False)
    strategy: str
    seed: int
    max_prob: float
    k: float
    q_init: float
    q_alpha: float
    q_update: str
    q_min: float
    mean_rule: str
    variance_rule: str
    variance_mean: str
    var_init: float
    var_min: float
    var_max: float
    parent: str
    require_mutation: bool
    reward_baseline: str
    credit: str
    q_prior_weight: float
    optuna_startup_trials: int
    optuna_multivariate: bool

    @classmethod
    def from_mapping(cls, section: Search | Mapping[str, Any]) -> Search:
        if isinstance(section, Search):
            return section
        optuna = {**section_defaults("search.optuna"), **(section.get("optuna") or {})}
        values = {
            **SEARCH_ADDED,
            **section,
            "optuna_startup_trials": optuna["n_startup_trials"],
            "optuna_multivariate": optuna["multivariate"],
        }
        return cls(raw=dict(section), **_typed(cls, "search", values))


@dataclass(frozen=True)
class RuleResources:
    mem_mb: int
    runtime: int
    threads: int = 1


@dataclass(frozen=True)
class Comparison:
    dataset: str
    in_report: bool
    strategies: tuple[str, ...]
    ablations: tuple[str, ...]
    baselines: tuple[str, ...]


@dataclass(frozen=True)
class StudySurrogate:
    """`study.surrogate`: the surrogate benchmark (hhnas.study.surrogate)."""

    seeds: int
    search_seed: int
    folds: int
    holdout: float


@dataclass(frozen=True)
class StudyNoise:
    """`study.noise`: the noise floor (hhnas.study.noise)."""

    best: int
    random: int
    seeds: int
    seed: int


@dataclass(frozen=True)
class Study:
    """`study` (config/study.yaml, `make study`): the confirmatory runs (variants x datasets x
    `experiments`, on seeds drawn from `search_seed`), the noise floor and the surrogate
    benchmark (docs/study.md)."""

    datasets: tuple[str, ...]
    variants: tuple[str, ...]
    reference: tuple[str, ...]
    bootstrap: int
    seed: int
    level: float
    experiments: int
    search_seed: int
    margin: float
    alpha: float
    surrogate_variants: tuple[str, ...]
    surrogate: StudySurrogate
    noise: StudyNoise


@dataclass(frozen=True)
class FinalFinetune:
    """`final.finetune`: the encoder fine-tuned with the final candidate's heads."""

    enabled: bool
    epochs: int
    learning_rate: float
    head_lr_scale: float
    batch_size: int
    lr_schedule: str
    warmup_ratio: float
    grad_clip: float


@dataclass(frozen=True)
class Final:
    """`final`: the retrained best candidate(s) saved for prediction (hhnas.final)."""

    enabled: bool
    ensemble: int
    finetune: FinalFinetune


@dataclass(frozen=True)
class Analysis:
    """`analysis`: the final model's error analysis (hhnas.reporting.errors)."""

    similar_schema_jaccard: float
    top_pairs: int
    merge_thresholds: tuple[float, ...]


@dataclass(frozen=True)
class Predict:
    """`predict`: batch prediction over CSV files with a final model."""

    inputs: dict[str, str]
    text_column: str
    top_k: int


def _section(cls: type, name: str, config: Mapping[str, Any]) -> Any:
    return cls(**_typed(cls, name, {**section_defaults(name), **(config.get(name) or {})}))


@dataclass(frozen=True)
class Config:
    """The validated configuration: typed views plus the raw mapping the rules pass on."""

    raw: dict[str, Any]
    run_datasets: tuple[str, ...]
    datasets: dict[str, Dataset]
    roles: dict[str, str]
    comparison: Comparison
    resources: dict[str, RuleResources]
    experiments: int
    iterations: int
    main_variant: str
    variants: tuple[str, ...]
    compared: tuple[str, ...]
    variant_search: dict[str, dict[str, Any]] = field(repr=False)
    study: Study | None = None
    final: Final = field(default_factory=lambda: _final({}))
    analysis: Analysis = field(default_factory=lambda: _section(Analysis, "analysis", {}))
    predict: Predict = field(default_factory=lambda: Predict({}, "text", 3))
    # variant -> the variant whose files it shares (the first with the same hashed search)
    variant_dir: dict[str, str] = field(default_factory=dict)

    @property
    def searched_datasets(self) -> list[str]:
        return searched_datasets(self.raw)

    @property
    def search_dirs(self) -> list[str]:
        """Variants that own a directory of state files (the rest share one of these)."""
        return list(dict.fromkeys(self.variant_dir.get(v, v) for v in self.variants))

    @property
    def last_iteration(self) -> int:
        return self.iterations - 1

    @property
    def models(self) -> list[int]:
        """Model numbers the main search can reach (a fixed bit keeps its initial value)."""
        from hhnas.search.space import model_number  # hhnas.search imports this module

        macro = self.raw["search"]["macro"]
        pairs = zip(macro["initial"], macro["mutable"], strict=True)
        bits = [(0, 1) if mutable else (int(b),) for b, mutable in pairs]
        return sorted({model_number(m) for m in itertools.product(*bits)})

    @property
    def comparison_files(self) -> dict[str, str]:
        """What `make compare` adds to the report (rule comparison's registered outputs)."""
        return {
            "table_csv": "results/comparison/comparison.csv",
            "figure_png": "results/comparison/best_so_far.png",
        }

    @property
    def final_datasets(self) -> list[str]:
        """Datasets that get a final model and its error analysis (after a frozen-mode search
        only; final.finetune trains the encoder for the final model itself)."""
        if not self.final.enabled or self.raw["backbone"]["mode"] != "frozen":
            return []
        return list(self.run_datasets)

    @cached_property
    def study_search(self) -> dict[str, dict[str, Any]]:
        """The study's variants (confirmatory and surrogate) with the study's own search seed."""
        if self.study is None:
            return {}
        names = dict.fromkeys(self.study.variants + self.study.surrogate_variants)
        return {v: {**self.variant_search[v], "seed": self.study.search_seed} for v in names}

    @cached_property
    def study_dirs(self) -> dict[str, str]:
        """Confirmatory variant -> the variant whose files under results/study/ it reads."""
        if self.study is None:
            return {}
        dirs = shared_dirs({v: self.study_search[v] for v in self.study.variants})
        return dirs

    @property
    def iteration_jobs(self) -> int:
        """Search iteration jobs of a whole run: the main search on every run dataset, each
        other compared search on the comparison dataset, the study's confirmatory runs."""

        def per_experiment(variant: str) -> int:
            return int(self.variant_search[variant]["iterations"])

        main = self.variant_dir.get(self.main_variant, self.main_variant)
        jobs = len(self.run_datasets) * self.experiments * self.iterations
        for d in self.search_dirs:
            if d != main:
                s = self.variant_search[d]
                jobs += int(s["experiments"]) * per_experiment(d)
        if self.study is not None:
            for d in dict.fromkeys(self.study_dirs.values()):
                jobs += len(self.study.datasets) * self.study.experiments * per_experiment(d)
        return jobs

    def job_config(self, dataset: str, variant: str, study: bool = False) -> dict[str, Any]:
        """The config sections that decide a search's outcome (its config hash,
        hhnas.jobs.iteration.search_config_hash): what an iteration job, and the final model
        retraining its candidates, read. The run length is left out, so raising
        search.iterations extends a finished search; keys keep the config's order (the search
        draws its mutations in the parameters' order). `study`: the study's confirmatory run of
        the variant (its own search seed)."""
        from hhnas.variants import BUDGET_KEYS

        raw = self.raw
        chosen = self.study_search[variant] if study else self.variant_search[variant]
        search = {k: v for k, v in chosen.items() if k not in BUDGET_KEYS}
        return {
            "search": search,
            "training": raw["training"],
            "backbone": raw["backbone"],
            "llm": raw["llm"],
            "datasets": {dataset: raw["datasets"][dataset]},
            "data": {k: raw["data"][k] for k in ("split", "split_seed")},
        }

    @property
    def final_threads(self) -> int:
        """The final model job's threads: the search's for heads only, the feature jobs' when
        it fine-tunes the encoder (a transformer's forward and backward pass use them)."""
        if self.final.finetune.enabled:
            return self.resources["features"].threads
        return int(self.raw["training"]["threads"])

    def final_job_config(self, dataset: str) -> dict[str, Any]:
        """What the final model's job reads: the main search's job config, the final
        section, and the feature jobs' thread count (prediction uses the same)."""
        return {
            **self.job_config(dataset, self.main_variant),
            "final": {
                "ensemble": self.final.ensemble,
                "finetune": asdict(self.final.finetune),
                "threads": self.final_threads,
            },
            "features_threads": self.resources["features"].threads,
        }

    def role_outputs(self) -> list[str]:
        """The paper's tables and figures this run makes: those whose dataset is run."""
        return [name for role in self.roles for name in ROLE_OUTPUTS[role]]

    def table_files(self) -> list[str]:
        tables = sorted(n for n in self.role_outputs() if n.startswith("table"))
        return [f"results/tables/{n}.{ext}" for n in tables for ext in ("csv", "md", "tex")]

    def figure_files(self) -> list[str]:
        figures = [n for n in ("figure3", "figure4") if n in self.role_outputs()]
        if "spider" in self.roles:
            figures += [f"model{m}" for m in self.models]
        return [f"results/figures/{n}.{ext}" for n in figures for ext in ("png", "svg")]

    def dataset_files(self, dataset: str) -> list[str]:
        """Each dataset's own per-experiment x model table and trend figures."""
        base = f"results/{dataset}"
        return [f"{base}/tables/experiments.{ext}" for ext in ("csv", "md", "tex")] + [
            f"{base}/figures/model{m}.{ext}" for m in self.models for ext in ("png", "svg")
        ]


def _parameter(name: str, spec: Mapping[str, Any]) -> Parameter:
    return Parameter(
        name=name,
        type=str(spec["type"]),
        initial=spec["initial"],
        low=spec.get("low"),
        high=spec.get("high"),
        log=bool(spec.get("log", False)),
        choices=tuple(spec.get("choices", ())),
        mutable=bool(spec.get("mutable", True)),
    )


def parameters(search: Mapping[str, Any]) -> list[Parameter]:
    return [_parameter(n, s) for n, s in search["parameters"].items()]


def _dataset(name: str, spec: Mapping[str, Any]) -> Dataset:
    return Dataset(
        name=name,
        format=str(spec["format"]),
        min_questions_per_class=int(spec["min_questions_per_class"]),
        max_questions_per_class=spec.get("max_questions_per_class"),
        spider_dir=spec.get("spider_dir"),
        splits=tuple(spec.get("splits", ())),
        path=spec.get("path"),
        text_column=spec.get("text_column"),
        label_column=spec.get("label_column"),
        id_column=spec.get("id_column"),
        split_column=spec.get("split_column"),
        exclude_labels=tuple(spec.get("exclude_labels", ())),
        merge_similar_schemas=spec.get("merge_similar_schemas"),
    )


# ---------------------------------------------------------------------------------------------
# Cross-field rules: each returns the problems it finds (empty when fine).


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
    for ref in study.get("reference", []):
        if ref not in study.get("variants", []):
            out.append(
                f"study.reference names {ref!r}, which is not one of study.variants "
                f"({', '.join(study.get('variants', []))}){_close(ref, study.get('variants', []))}"
            )
    for name in study.get("datasets", []):
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
            for k in csv_only + ("exclude_labels",):
                if k in spec:
                    out.append(f"{key}.{k}: only for format csv")
            if not spec.get("splits"):
                out.append(f"{key}.splits: name Spider's splits to read (train_spider, ...)")
    return out


def searched_datasets(config: Mapping[str, Any]) -> list[str]:
    """run_datasets, then the study's datasets not among them: every dataset a job touches."""
    runs = list(config["run_datasets"])
    study = config.get("study") or {}
    return runs + [d for d in study.get("datasets", []) if d not in runs]


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


# ---------------------------------------------------------------------------------------------
# Building


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
    cmp = config.get("comparison") or {}
    res = config["resources"]
    predict = config.get("predict") or {}
    cfg = Config(
        raw=config,
        run_datasets=runs,
        datasets={n: _dataset(n, s) for n, s in config["datasets"].items()},
        roles=resolve_roles(config),
        comparison=Comparison(
            dataset=cmp.get("dataset") or runs[0],
            in_report=bool(cmp.get("in_report", False)),
            strategies=tuple(cmp.get("strategies", ())),
            ablations=tuple(cmp.get("ablations", ())),
            baselines=tuple(cmp.get("baselines", ())),
        ),
        resources={
            k: RuleResources(int(v["mem_mb"]), int(v["runtime"]), int(v.get("threads", 1)))
            for k, v in res.items()
        },
        experiments=int(config["search"]["experiments"]),
        iterations=int(config["search"]["iterations"]),
        main_variant=main,
        variants=tuple(searches),
        compared=compared,
        variant_search=searches,
        study=_study_section(config),
        final=_final(config),
        analysis=_section(Analysis, "analysis", config),
        predict=Predict(
            inputs=dict(predict.get("inputs") or {}),
            text_column=str(predict.get("text_column", "text")),
            top_k=int(predict.get("top_k", 3)),
        ),
        variant_dir=shared_dirs(searches),
    )
    size = workflow_size_problems(cfg)
    if size:
        raise ConfigError(size)
    return cfg


def _final(config: Mapping[str, Any]) -> Final:
    raw = {**section_defaults("final"), **(config.get("final") or {})}
    ft = {**section_defaults("final.finetune"), **(raw.get("finetune") or {})}
    return Final(
        enabled=bool(raw["enabled"]),
        ensemble=int(raw["ensemble"]),
        finetune=FinalFinetune(**_typed(FinalFinetune, "final.finetune", ft)),
    )


def final_problems(config: Mapping[str, Any]) -> list[str]:
    final = _final(config)
    if final.finetune.enabled and final.ensemble != 1:
        return [
            f"final.finetune.enabled with final.ensemble {final.ensemble}: a fine-tuned final "
            "model is one candidate with its own encoder; set final.ensemble: 1 or "
            "final.finetune.enabled: false"
        ]
    search = config["search"]
    budget = int(search["experiments"]) * int(search["iterations"])
    # A fine-tuning search builds no final model (Config.final_datasets).
    if final.enabled and config["backbone"]["mode"] == "frozen" and final.ensemble > budget:
        return [
            f"final.ensemble={final.ensemble} is more than the {budget} candidates the search "
            f"makes (search.experiments {search['experiments']} x search.iterations "
            f"{search['iterations']}); set final.ensemble to at most {budget}"
        ]
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


def _study_section(config: Mapping[str, Any]) -> Study | None:
    raw = config.get("study")
    if not raw:
        return None
    spec = {**section_defaults("study"), **raw}
    variants = tuple(study_variants(dict(config)))
    return Study(
        datasets=tuple(spec["datasets"]),
        variants=variants,
        reference=tuple(spec["reference"]),
        bootstrap=int(spec["bootstrap"]),
        seed=int(spec["seed"]),
        level=float(spec["level"]),
        experiments=int(spec["experiments"]),
        search_seed=int(spec["search_seed"]),
        margin=float(spec["margin"]),
        alpha=float(spec["alpha"]),
        surrogate_variants=tuple(spec.get("surrogate_variants") or variants),
        surrogate=_nested(StudySurrogate, "study.surrogate", spec),
        noise=_nested(StudyNoise, "study.noise", spec),
    )


def _nested(cls: type, section: str, parent: Mapping[str, Any]) -> Any:
    values = {**section_defaults(section), **(parent.get(section.rsplit(".", 1)[1]) or {})}
    return cls(**_typed(cls, section, values))


def shared_dirs(searches: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each variant's directory: the first variant (the main one comes first) whose search
    hashes alike, so that e.g. the ablation hhnas-literal runs no job while it is the default."""
    from hhnas.variants import BUDGET_KEYS

    first: dict[str, str] = {}
    out = {}
    for name, search in searches.items():
        key = json.dumps(hashed_search(search, BUDGET_KEYS), sort_keys=True, default=str)
        out[name] = first.setdefault(key, name)
    return out


def schema_validator(schema_path: Path = SCHEMA) -> Callable[[dict[str, Any]], None]:
    """Snakemake's own `validate` (it fills the schema's defaults), as the workflow calls it."""
    from snakemake.utils import validate

    def run(cfg: dict[str, Any]) -> None:
        validate(cfg, schema=str(schema_path))

    return run


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
    from hhnas.variants import deep_merge

    out: dict[str, Any] = {}
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            out = deep_merge(out, yaml.safe_load(fh) or {})
    return out


__all__ = [
    "Config",
    "ConfigError",
    "check",
    "check_unknown_keys",
    "from_validated",
    "load",
    "merged",
]
