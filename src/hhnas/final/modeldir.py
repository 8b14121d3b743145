"""The final model's directory: what it holds, how it is written, and how it is checked.

A directory is self-contained for prediction except for the two pretrained models it names
(the backbone encoder and the LLM), which it identifies by a hash of their weights:

    hhnas-model.json      format and version, members (template, parameters, provenance,
                          weight in the ensemble), the lexical member's C and weight, feature
                          settings, the backbone's and LLM's identities, the machine, file hashes
    weights.safetensors   every member's head weights, keys prefixed "m<i>."
    lexical.json, .npz    only with a TF-IDF member (hhnas.final.lexical): its vectorizers'
                          settings, vocabularies and idf vectors, the regression's arrays
    encoder/              only with final.finetune: the fine-tuned encoder and its tokenizer
                          (transformers' save_pretrained), which replace the named backbone
    features.npz          standardisation statistics of each input (training rows), the LLM's
                          database vectors and the mean question vector they were centred with
    classes.json          the labels in output order and each class's schema (for schema linking)
    metrics.json          validation and test accuracy, top-3, per class; the search's figures

Reading a directory checks the format, its version, every file's hash and the feature settings
against this code, and names whatever differs (:class:`ModelDirError`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from hhnas.io import read_json, sha256_file, write_dir, write_json
from hhnas.machine import Machine
from hhnas.records import Params

FORMAT = "hhnas-final-model"
# 2: the schema-linking input is named "linking" (manifest inputs, code settings, weight names),
# not "rule"; a version-1 directory is refused with the commit that can read it.
# 3: a weighted ensemble (each member's weight, the method) with an optional lexical member,
# and the machine the final job ran on.
VERSION = 3
MANIFEST = "hhnas-model.json"
WEIGHTS = "weights.safetensors"
FEATURES = "features.npz"
CLASSES = "classes.json"
METRICS = "metrics.json"
FILES = (WEIGHTS, FEATURES, CLASSES, METRICS)
# Feature settings a prediction must share with training; the identities (weights hashes) are
# compared separately, when the models are found.
BACKBONE_SETTINGS = ("pooling", "max_length", "batch_size")
LLM_SETTINGS = ("layer", "max_length", "batch_size")


class ModelDirError(ValueError):
    """A directory that is not a usable final model: the message says what and what to do."""


class Member(TypedDict):
    """A member of the model: its template and parameters, the search iteration (and so the
    training seed) it comes from, and its weight in the ensemble."""

    model: int
    macro: list[int]
    params: Params
    experiment: int
    iteration: int
    seed: int
    weight: float


class Lexical(TypedDict):
    """The TF-IDF + logistic regression member (hhnas.final.lexical): its C, its weight in the
    ensemble and its files."""

    kind: str
    C: float
    weight: float
    files: list[str]


class HeadSettings(TypedDict):
    """The `training` keys that shape the heads."""

    cnn_filters: int
    class_readout: bool


class InputShapes(TypedDict):
    """Each input's shape per row: the backbone vector's width, the LLM's and linking's arrays."""

    backbone: list[int]
    llm: list[int]
    linking: list[int]


class ModelIdentity(TypedDict):
    """A pretrained model the inputs are computed with: found again by its weights' hash."""

    name: str
    weights_sha256: str
    max_length: int
    batch_size: int


class BackboneIdentity(ModelIdentity):
    spec: str  # backbone.path
    pooling: str


class LLMIdentity(ModelIdentity):
    gguf: str
    model_dir: str
    layer: int


class CodeSettings(TypedDict):
    """What this code computes for the inputs beyond the config (:func:`feature_code_settings`)."""

    linking_channels: list[str]
    llm_question_prompt: str
    llm_database_description: str


class FeatureIdentities(TypedDict):
    """How the inputs are computed: the models, the feature jobs' threads and the code."""

    backbone: BackboneIdentity
    llm: LLMIdentity
    threads: int
    code: CodeSettings


class FinetuneRecipe(TypedDict):
    """`final.finetune` as the fine-tuned encoder was trained."""

    enabled: bool
    epochs: int
    learning_rate: float
    head_lr_scale: float
    batch_size: int
    lr_schedule: str
    warmup_ratio: float
    grad_clip: float


class Encoder(TypedDict):
    """Only with final.finetune: the fine-tuned encoder's directory and how it is run."""

    dir: str
    recipe: FinetuneRecipe
    pooling: str
    max_length: int
    threads: int


class Manifest(TypedDict):
    """hhnas-model.json; :func:`write_model_dir` adds ``format``, ``version`` and ``files``."""

    dataset: str
    created: str
    commit: str
    config_hash: str
    n_classes: int
    method: str
    members: list[Member]
    lexical: NotRequired[Lexical]
    training: HeadSettings
    inputs: InputShapes
    features: FeatureIdentities
    machine: Machine
    encoder: NotRequired[Encoder]
    format: NotRequired[str]
    version: NotRequired[int]
    files: NotRequired[dict[str, str]]


def model_weights_sha256(model_dir: str | os.PathLike) -> str:
    """Identity of a local transformers model: its config.json and weight files, by name."""
    root = Path(model_dir)
    files = [root / "config.json"] + sorted(
        p for p in root.iterdir() if p.suffix in (".safetensors", ".bin")
    )
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode())
        h.update(sha256_file(path).encode())
    return h.hexdigest()


def feature_code_settings() -> CodeSettings:
    """What this code computes for the inputs, beyond the config: the linking channels and the
    LLM's prompt texts. A directory written by code that computed them differently is refused."""
    from hhnas.features.llm import describe_database, question_prompt
    from hhnas.features.schema_linking import LINKING_CHANNELS

    return {
        "linking_channels": list(LINKING_CHANNELS),
        "llm_question_prompt": question_prompt("{question}"),
        "llm_database_description": describe_database(
            "{name}", {"tables": ["{tables}"], "columns": ["{columns}"]}
        ),
    }


def write_model_dir(
    out_dir: str | os.PathLike, manifest: Manifest, write_files: Callable[[Path], None]
) -> None:
    """Write a complete directory or nothing: ``write_files(tmp)`` fills a temporary sibling
    with FILES, the manifest (with their hashes) goes in last, then one rename puts it in place
    (an existing directory is replaced)."""

    def fill(tmp: Path) -> None:
        write_files(tmp)
        # Every file, FILES and any extra ones (a fine-tuned encoder's), by relative path.
        hashes = {
            p.relative_to(tmp).as_posix(): sha256_file(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != MANIFEST
        }
        write_json(
            tmp / MANIFEST, {**manifest, "format": FORMAT, "version": VERSION, "files": hashes}
        )

    write_dir(out_dir, fill)


def read_manifest(model_dir: str | os.PathLike) -> Manifest:
    """The checked manifest of a final model directory, or a ModelDirError saying why not."""
    root = Path(model_dir)
    path = root / MANIFEST
    if not root.is_dir():
        raise ModelDirError(f"{root}: no such directory (a final model is results/<dataset>/final)")
    if not path.is_file():
        raise ModelDirError(
            f"{root}: not an hhnas model directory ({MANIFEST} is missing); point at the "
            "results/<dataset>/final directory that `snakemake` or `make run` wrote"
        )
    try:
        manifest = read_json(path)
    except ValueError as exc:
        raise ModelDirError(
            f"{exc}; re-create the directory (delete it and run make run)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelDirError(f"{path}: not an hhnas final model (format is not {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise ModelDirError(
            f"{path}: written in model format version {manifest.get('version')!r}, this hhnas "
            f"reads version {VERSION}; re-create it with this version (delete the directory and "
            "run make run) or predict with the hhnas version that wrote it "
            f"(commit {manifest.get('commit', 'unknown')})"
        )
    for name, expected in (manifest.get("files") or {}).items():
        file = root / name
        if not file.is_file():
            raise ModelDirError(f"{root}: {name} is missing; the directory is incomplete")
        if sha256_file(file) != expected:
            raise ModelDirError(
                f"{file}: its content differs from the hash recorded in {MANIFEST} (damaged or "
                "edited); re-create the directory (delete it and run make run)"
            )
    lexical = manifest.get("lexical")
    needed = [*FILES, *(lexical["files"] if lexical else [])]
    missing = [n for n in needed if n not in (manifest.get("files") or {})]
    if missing:
        raise ModelDirError(f"{path}: records no hash for {', '.join(missing)}")
    differs = settings_differences(manifest["features"]["code"], feature_code_settings())
    if differs:
        raise ModelDirError(
            f"{root}: its features were computed differently from this hhnas's ("
            + "; ".join(differs)
            + "); re-create the directory with this version"
        )
    return manifest


def settings_differences(
    saved: Mapping[str, Any], current: Mapping[str, Any], where: str = ""
) -> list[str]:
    """``key: model directory X, here Y`` for every key whose values differ."""
    out = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key, "(absent)"), current.get(key, "(absent)")
        if a != b:
            out.append(f"{where}{key}: model directory {a!r}, here {b!r}")
    return out


def config_differences(manifest: Manifest, config: Mapping[str, Any]) -> list[str]:
    """Feature settings of a workflow config that differ from the directory's (the batch
    prediction rule refuses a model whose inputs its config would compute differently)."""
    features = manifest["features"]
    saved_backbone = {k: features["backbone"][k] for k in BACKBONE_SETTINGS}
    saved_llm = {k: features["llm"][k] for k in LLM_SETTINGS}
    return settings_differences(
        {**saved_backbone, "path": features["backbone"]["spec"]},
        {
            **{k: config["backbone"][k] for k in BACKBONE_SETTINGS},
            "path": config["backbone"]["path"],
        },
        "backbone.",
    ) + settings_differences(
        {**saved_llm, "gguf": features["llm"]["gguf"]},
        {**{k: config["llm"][k] for k in LLM_SETTINGS}, "gguf": config["llm"]["gguf"]},
        "llm.",
    )
