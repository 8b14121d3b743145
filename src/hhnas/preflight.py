"""What the configuration says about files on disk, checked before any job: the datasets'
files, class sizes against the split, CSV headers and rows, the backbone, the LLM's blocks.

hhnas.config reads nothing but the configuration; this module sits above it and above the data
and features packages it asks. The workflow (rules/common.smk) calls :func:`check_inputs` right
after building the typed configuration; every problem found comes in one ConfigError.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import Any

from hhnas.config import Config, ConfigError, searched_datasets
from hhnas.data.loaders import DataError, read_csv_header
from hhnas.data.prepare import build_dataset, check_class_size
from hhnas.features.gguf_file import GGUFHeaderError, block_count, find_gguf
from hhnas.features.split_zip import PREFIX, find_parts


def class_size_problems(config: Mapping[str, Any]) -> list[str]:
    out = []
    for name in searched_datasets(config):
        spec = config["datasets"].get(name)
        if spec is None or spec.get("split_column"):
            continue  # a published split: the fractions do not apply
        try:
            check_class_size(
                name,
                int(spec["min_questions_per_class"]),
                spec.get("max_questions_per_class"),
                config["data"]["split"],
            )
        except ValueError as exc:
            out.append(str(exc))
    return out


def file_problems(config: Mapping[str, Any]) -> list[str]:
    """Inputs that must exist before any job: datasets' files and the backbone."""
    out = []
    for name in searched_datasets(config):
        spec = config["datasets"].get(name)
        if spec is None:
            continue
        if spec["format"] == "spider":
            key = f"datasets.{name}.spider_dir" if "spider_dir" in spec else "data.spider_dir"
            root = spec.get("spider_dir", config["data"]["spider_dir"])
            for fname in ("questions.jsonl", "tables.json"):
                if not os.path.isfile(os.path.join(root, fname)):
                    out.append(
                        f"{os.path.join(root, fname)}: not found. Set `{key}` to the directory "
                        "holding Spider's questions.jsonl and tables.json (README, section Data)"
                    )
                    break
        elif spec.get("path") and not os.path.isfile(spec["path"]):
            out.append(
                f"datasets.{name}.path={spec['path']!r}: no such CSV file (relative paths are "
                f"read from the working directory, {os.getcwd()})"
            )
    out += backbone_problems(str(config["backbone"]["path"]))
    return out + csv_problems(config) if not out else out


# A CSV is read once more at start-up so that an empty file or a one-class dataset stops the
# run before any job; past this size the read is left to the data job alone.
CSV_PRECHECK_BYTES = 50_000_000


def csv_problems(config: Mapping[str, Any]) -> list[str]:
    """Build each CSV dataset in memory (what the data job does, nothing written); of a
    larger file, read the header alone."""
    out = []
    for name in searched_datasets(config):
        spec = config["datasets"][name]
        if spec["format"] != "csv":
            continue
        try:
            if os.path.getsize(spec["path"]) > CSV_PRECHECK_BYTES:
                read_csv_header(spec["path"])
            else:
                build_dataset(name, dict(spec), dict(config["data"]))
        except (DataError, ValueError) as exc:
            out.append(str(exc))
    return out


def _in_hub_cache(spec: str) -> bool:
    """A hub id already downloaded (nothing is fetched at run time)."""
    from huggingface_hub.constants import HF_HUB_CACHE  # imported when needed: 0.3 s

    return os.path.isdir(os.path.join(HF_HUB_CACHE, f"models--{'--'.join(spec.split('/'))}"))


def backbone_problems(spec: str) -> list[str]:
    if spec.startswith(PREFIX):
        try:
            find_parts(spec[len(PREFIX) :], "backbone.path")
        except FileNotFoundError as exc:
            return [str(exc)]
        return []
    if spec.startswith("package:"):
        package = spec.split(":", 1)[1]
        if importlib.util.find_spec(package) is None:
            return [
                f"backbone.path={spec!r}: Python package {package!r} is not installed "
                "(make install), or set backbone.path to a local model directory"
            ]
        return []
    if os.path.isdir(os.path.expanduser(spec)) or _in_hub_cache(spec):
        return []
    return [
        f"backbone.path={spec!r}: neither a local directory nor a model in the local Hugging "
        "Face cache. Set backbone.path in the config file, or pass --config backbone_path=DIR, "
        "to a local transformers model directory (config.json, tokenizer and weights)"
    ]


def llm_problems(config: Mapping[str, Any]) -> list[str]:
    """`llm.gguf` must name a GGUF file, and `llm.layer` one of its hidden states: 0 (the
    embeddings) to the number of blocks, or -1 (the last) back to -(blocks + 1)."""
    llm = config["llm"]
    try:
        directory, name = find_gguf(str(llm["gguf"]), "llm.gguf")
        blocks = block_count(os.path.join(directory, name))
    except (FileNotFoundError, GGUFHeaderError) as exc:
        return [str(exc)]
    layer = int(llm["layer"])
    if not -(blocks + 1) <= layer <= blocks:
        return [
            f"llm.layer={layer}: {name} has {blocks} blocks, so the layer must lie in "
            f"[-{blocks + 1}, {blocks}] (0 the embeddings, {blocks} or -1 the last block)"
        ]
    return []


def input_problems(config: Mapping[str, Any]) -> list[str]:
    """Class sizes first (no file needed), then the files, as one list."""
    problems = class_size_problems(config)
    if not problems:
        problems += file_problems(config)
    return problems + llm_problems(config) if not problems else problems


def check_inputs(cfg: Config) -> None:
    """Raise one ConfigError listing every input problem of a checked configuration."""
    problems = input_problems(cfg.raw)
    if problems:
        raise ConfigError(problems)
