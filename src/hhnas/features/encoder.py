"""Frozen transformer sentence embeddings (the cached "backbone" features).

Everything here runs offline: models come from an installed Python package, a
local directory, or a hub id that is already in the local Hugging Face cache.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# Must be set before transformers / huggingface_hub read it at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

POOLINGS = ("mean", "cls")
_PACKAGE_PREFIX = "package:"


def _missing(config_key: str, spec: str, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{config_key} = {spec!r}: {why}. Fix: install the model package (spec "
        f"'package:NAME' calls NAME.get_model_path()), or set {config_key} to a local "
        "directory that contains config.json; nothing is downloaded."
    )


def _from_package(name: str, spec: str, config_key: str) -> str:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise _missing(config_key, spec, f"python package {name!r} is not installed") from exc
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise _missing(config_key, spec, f"package {name!r} has no get_model_path()")
    return _checked_dir(str(getter()), spec, config_key)


def _checked_dir(path: str, spec: str, config_key: str) -> str:
    if not (Path(path) / "config.json").is_file():
        raise _missing(config_key, spec, f"{path!r} is not a model directory with config.json")
    return str(Path(path).resolve())


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or os.path.exists(spec) or spec.count("/") > 1


def _from_hf_cache(spec: str, config_key: str) -> str:
    from transformers.utils import cached_file

    try:
        config = cached_file(spec, "config.json", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise _missing(config_key, spec, "not a local directory and not in the HF cache") from exc
    if config is None:
        raise _missing(config_key, spec, "not a local directory and not in the HF cache")
    return str(Path(config).parent)


def resolve_model_path(spec: str, config_key: str) -> str:
    """Turn a model spec into a local model directory, or raise FileNotFoundError.

    ``spec`` is ``"package:NAME"`` (import NAME, call ``NAME.get_model_path()``),
    a local directory containing config.json, or a hub id already in the local HF
    cache. The error names ``config_key`` so the user knows which setting to fix.
    """
    if spec.startswith(_PACKAGE_PREFIX):
        return _from_package(spec[len(_PACKAGE_PREFIX) :], spec, config_key)
    if _looks_like_path(spec):
        return _checked_dir(os.path.expanduser(spec), spec, config_key)
    return _from_hf_cache(spec, config_key)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None = leave it alone)."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Index batches over texts sorted by length, so padding per batch is minimal."""
    # Stable sort keeps the result independent of anything but the inputs.
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class Progress:
    """Prints 'LABEL done/total (rate/s)' to stderr roughly every 10 %."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.start = time.perf_counter()
        self.next_report = max(1, total // 10)
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        if self.enabled and (self.done >= self.next_report or self.done == self.total):
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            print(f"{self.label} {self.done}/{self.total} ({rate:.0f}/s)", file=sys.stderr)
            self.next_report = self.done + max(1, self.total // 10)


def masked_mean(hidden, mask):  # type: ignore[no-untyped-def]
    """Mean of ``hidden`` [B,T,H] over positions where ``mask`` [B,T] is 1."""
    mask = mask.bool().unsqueeze(-1)
    # masked_fill, not multiplication: padded positions may hold NaN/inf.
    summed = hidden.masked_fill(~mask, 0.0).sum(dim=1)
    return summed / mask.sum(dim=1).clamp(min=1)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)


def _pool(output, mask, pooling: str):  # type: ignore[no-untyped-def]
    hidden = output.last_hidden_state
    if pooling == "cls":
        return hidden[:, 0]
    return masked_mean(hidden, mask)


def encode_texts(
    model_dir: str,
    texts: list[str],
    batch_size: int = 64,
    max_length: int = 128,
    pooling: str = "mean",
    threads: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Embed ``texts`` with a frozen encoder: float32 ``[N, D]``, L2-normalised rows.

    Texts are batched in order of token length and the result is returned in
    input order. ``pooling`` is "mean" (attention-mask mean) or "cls".
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    with torch_threads(threads), torch.inference_mode():
        return _encode(tokenizer, model, texts, batch_size, max_length, pooling, progress)


def _encode(tokenizer, model, texts, batch_size, max_length, pooling, progress):  # type: ignore[no-untyped-def]
    if not texts:
        return np.zeros((0, model.config.hidden_size), dtype=np.float32)
    # Tokenised once; each batch is padded from these ids as the tokenizer pads a batch of texts.
    enc_all = tokenizer(texts, truncation=True, max_length=max_length)
    out: np.ndarray | None = None
    meter = Progress("encoded", len(texts), progress)
    for batch in length_batches([len(i) for i in enc_all["input_ids"]], batch_size):
        enc = tokenizer.pad(
            {key: [values[i] for i in batch] for key, values in enc_all.items()},
            return_tensors="pt",
        )
        pooled = _pool(model(**enc), enc["attention_mask"], pooling).float().numpy()
        if out is None:
            out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
        out[batch] = pooled
        meter.update(len(batch))
    return l2_normalize(out)
