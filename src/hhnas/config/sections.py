"""The typed, read-only sections of a validated configuration, and :class:`Config`.

Every value a section holds is the schema's (hhnas.config.schema) or the user's; the raw
mapping stays the source of the jobs' config hash (hhnas.jobs.iteration), so a finished search
keeps matching its state files.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from hhnas.config.schema import ConfigError, definition_default, section_defaults
from hhnas.config.templates import model_number
from hhnas.config.variants import BUDGET_KEYS, comparison_names, study_variants

# Paper roles: which dataset feeds which of the paper's tables and figures.
ROLE_OUTPUTS = {
    "spider": ("table2", "table3", "figure3", "figure4"),
    "heldout": ("table1",),
}


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
    max_train_per_class: int | None = None
    group_column: str | None = None


@dataclass(frozen=True)
class Parameter:
    """One parameter of the search space (`search.parameters.<name>`, or a macro bit with type
    `binary`): the only parsed form of it, read by the cross-key rules and by hhnas.search.

    Continuous parameters mutate in a normalised unit interval (log10 for `log: true`) so that
    one scale `k` and one variance range fit every parameter; discrete ones move one step along
    `choices`; binary ones are the macro bits. A parameter with `mutable: false` keeps its
    initial value in every strategy (the ablations fix the micro or the macro level this way).
    """

    name: str
    type: str
    initial: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    mutable: bool = True

    def to_unit(self, value: float) -> float:
        lo, hi, v = float(self.low), float(self.high), float(value)  # type: ignore[arg-type]
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        return (v - lo) / (hi - lo)

    def from_unit(self, u: float) -> float:
        u = min(1.0, max(0.0, u))
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.log:
            v = 10 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo)))
        else:
            v = lo + u * (hi - lo)
        return min(hi, max(lo, v))  # log10 round trips can leave [low, high] by one ulp


CASTS = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "tuple[float, ...]": lambda v: tuple(float(x) for x in v),
}


def typed_values(cls: type, section: str, values: Mapping[str, Any]) -> dict[str, Any]:
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
    def from_mapping(cls, section: Mapping[str, Any]) -> Training:
        """The typed section; keys the mapping lacks take the schema's defaults."""
        return cls(**typed_values(cls, "training", {**section_defaults("training"), **section}))


@dataclass(frozen=True)
class Backbone:
    """`backbone`: the encoder whose pooled embedding is the backbone input (hhnas.features
    .encoder), frozen and cached, or trained with each candidate (`mode: finetune`,
    hhnas.training.finetune)."""

    path: str
    mode: str
    pooling: str
    max_length: int
    batch_size: int

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> Backbone:
        return cls(**typed_values(cls, "backbone", {**section_defaults("backbone"), **section}))


@dataclass(frozen=True)
class LLM:
    """`llm`: the causal language model whose hidden states give the LLM input
    (hhnas.features.llm)."""

    provider: str
    gguf: str
    layer: int
    batch_size: int
    max_length: int

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> LLM:
        return cls(**typed_values(cls, "llm", {**section_defaults("llm"), **section}))


# Search keys added after the paper-literal reading of 2026-11 (state format 2). Absent, they mean
# what the search did before them; search_config_hash leaves them out while they say so, so that
# the paper-literal configuration keeps its hash and byte-identical state files.
SEARCH_ADDED: dict[str, Any] = {"reward_baseline": "all", "credit": "full", "q_prior_weight": 1.0}


# Keys renamed since searches were first hashed (2026-12-05: "rule" means a Snakemake rule only),
# hashed under their first names so that a finished search keeps its hash and its files.
HASHED_AS = {"mean_update": "mean_rule", "variance_update": "variance_rule"}


def hashed_search(search: Mapping[str, Any], budget_keys: tuple[str, ...]) -> dict[str, Any]:
    """The part of `search` that decides a search's outcome: without the run length, without
    an added key at its earlier meaning, and without q_prior_weight unless q_update reads it."""
    out = {HASHED_AS.get(k, k): v for k, v in search.items() if k not in budget_keys}
    if out.get("q_update") != "mean":
        out.pop("q_prior_weight", None)
    for key in ("reward_baseline", "credit"):
        if key in out and out[key] == SEARCH_ADDED[key]:
            del out[key]
    return out


def hashed_split(split: Mapping[str, Any]) -> dict[str, Any]:
    """`data.split` as a search's hash sees it: group_by (issue 23, 2026-12-05) only when
    set, so that writing `group_by: null` keeps the hash, and the files, of finished searches."""
    return {k: v for k, v in split.items() if not (k == "group_by" and v is None)}


@dataclass(frozen=True)
class Search:
    """`search`: what a strategy reads (hhnas.search); the space itself is built from `raw`
    by hhnas.search.space, and `reward` by hhnas.search.objective."""

    raw: dict[str, Any] = field(repr=False)
    strategy: str
    seed: int
    max_prob: float
    k: float
    q_init: float
    q_alpha: float
    q_update: str
    q_min: float
    mean_update: str
    variance_update: str
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
    def from_mapping(cls, section: Mapping[str, Any]) -> Search:
        optuna = {**section_defaults("search.optuna"), **(section.get("optuna") or {})}
        values = {
            **SEARCH_ADDED,
            **section,
            "optuna_startup_trials": optuna["n_startup_trials"],
            "optuna_multivariate": optuna["multivariate"],
        }
        return cls(raw=dict(section), **typed_values(cls, "search", values))


@dataclass(frozen=True)
class RuleResources:
    mem_mb: int
    runtime: int
    threads: int = 1


@dataclass(frozen=True)
class Comparison:
    """`comparison`: the variants and plain baselines run side by side on `dataset`, and what
    the baselines choose from (hhnas.baselines)."""

    dataset: str
    in_report: bool
    strategies: tuple[str, ...]
    ablations: tuple[str, ...]
    baselines: tuple[str, ...]
    tfidf_c_grid: tuple[float, ...]
    linking_channel: str


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
class FinalEnsemble:
    """`final.ensemble`: which models the final model combines, and with what weights."""

    method: str  # "greedy" (ensemble selection on validation) or "mean"
    candidates: int
    rounds: int
    tfidf: bool


@dataclass(frozen=True)
class Final:
    """`final`: the retrained best candidate(s) saved for prediction (hhnas.final)."""

    enabled: bool
    ensemble: FinalEnsemble
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


def typed_section(cls: type, name: str, config: Mapping[str, Any]) -> Any:
    return cls(**typed_values(cls, name, {**section_defaults(name), **(config.get(name) or {})}))


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
    final: Final = field(default_factory=lambda: final_section({}))
    analysis: Analysis = field(default_factory=lambda: typed_section(Analysis, "analysis", {}))
    predict: Predict = field(default_factory=lambda: predict_section({}))
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
        raw = self.raw
        chosen = self.study_search[variant] if study else self.variant_search[variant]
        search = {k: v for k, v in chosen.items() if k not in BUDGET_KEYS}
        return {
            "search": search,
            "training": raw["training"],
            "backbone": raw["backbone"],
            "llm": raw["llm"],
            "datasets": {dataset: raw["datasets"][dataset]},
            "data": {
                "split": hashed_split(raw["data"]["split"]),
                "split_seed": raw["data"]["split_seed"],
            },
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
                "ensemble": asdict(self.final.ensemble),
                # The lexical member's C is chosen on validation from the comparison's grid.
                "tfidf_c_grid": list(self.comparison.tfidf_c_grid),
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


def parameter_spec(name: str, spec: Mapping[str, Any]) -> Parameter:
    return Parameter(
        name=name,
        type=str(spec["type"]),
        initial=spec["initial"],
        low=spec.get("low"),
        high=spec.get("high"),
        log=bool(spec.get("log", False)),
        choices=tuple(spec.get("choices", ())),
        # criterion_num and dropout_rate carry no schema-filled `mutable` (the schema says why).
        mutable=bool(spec.get("mutable", definition_default("parameter_with_default", "mutable"))),
    )


def parameters(search: Mapping[str, Any]) -> list[Parameter]:
    return [parameter_spec(n, s) for n, s in search["parameters"].items()]


def comparison_section(config: Mapping[str, Any]) -> Comparison:
    cmp = {**section_defaults("comparison"), **(config.get("comparison") or {})}
    return Comparison(
        dataset=cmp["dataset"] or config["run_datasets"][0],
        in_report=bool(cmp["in_report"]),
        strategies=tuple(comparison_names(config, "strategies")),
        ablations=tuple(comparison_names(config, "ablations")),
        baselines=tuple(comparison_names(config, "baselines")),
        tfidf_c_grid=tuple(float(c) for c in cmp["tfidf_c_grid"]),
        linking_channel=str(cmp["linking_channel"]),
    )


def predict_section(config: Mapping[str, Any]) -> Predict:
    spec = {**section_defaults("predict"), **(config.get("predict") or {})}
    return Predict(dict(spec["inputs"]), str(spec["text_column"]), int(spec["top_k"]))


def dataset_spec(name: str, spec: Mapping[str, Any]) -> Dataset:
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
        max_train_per_class=spec.get("max_train_per_class"),
        group_column=spec.get("group_column"),
    )


def searched_datasets(config: Mapping[str, Any]) -> list[str]:
    """run_datasets, then the study's datasets not among them: every dataset a job touches."""
    runs = list(config["run_datasets"])
    study = config.get("study")
    return runs + [d for d in (study["datasets"] if study else []) if d not in runs]


def final_section(config: Mapping[str, Any]) -> Final:
    raw = {**section_defaults("final"), **(config.get("final") or {})}
    ft = {**section_defaults("final.finetune"), **(raw.get("finetune") or {})}
    return Final(
        enabled=bool(raw["enabled"]),
        ensemble=nested_section(FinalEnsemble, "final.ensemble", raw),
        finetune=FinalFinetune(**typed_values(FinalFinetune, "final.finetune", ft)),
    )


def study_section(config: Mapping[str, Any]) -> Study | None:
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
        surrogate=nested_section(StudySurrogate, "study.surrogate", spec),
        noise=nested_section(StudyNoise, "study.noise", spec),
    )


def nested_section(cls: type, section: str, parent: Mapping[str, Any]) -> Any:
    values = {**section_defaults(section), **(parent.get(section.rsplit(".", 1)[1]) or {})}
    return cls(**typed_values(cls, section, values))


def shared_dirs(searches: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each variant's directory: the first variant (the main one comes first) whose search
    hashes alike, so that e.g. the ablation hhnas-literal runs no job while it is the default."""
    first: dict[str, str] = {}
    out = {}
    for name, search in searches.items():
        key = json.dumps(hashed_search(search, BUDGET_KEYS), sort_keys=True, default=str)
        out[name] = first.setdefault(key, name)
    return out
