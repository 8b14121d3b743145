"""Token ids for fine-tuning, computed once per dataset and shared by every candidate."""

from __future__ import annotations

import io
import os

import numpy as np

from hhnas.io import write_bytes


def tokenize_texts(model_dir: str, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
    """Ragged token ids (special tokens included, truncated to ``max_length``) as a flat int32
    array plus row offsets, and the tokenizer's pad id."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if tokenizer.pad_token_id is None:
        raise ValueError(
            f"the tokenizer in {model_dir} has no pad token: set backbone.path to an encoder "
            "whose tokenizer defines one (BERT, RoBERTa, MPNet and MiniLM all do)"
        )
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((t for e in encoded for t in e), dtype=np.int32, count=int(offsets[-1]))
    return {"ids": flat, "offsets": offsets, "pad_id": np.int64(tokenizer.pad_token_id)}


def write_tokens(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(path, buf.getvalue())
