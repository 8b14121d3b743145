"""Fine-tuning mode: the transformer backbone trains end to end with the hybrid heads.

The heads are the frozen mode's ``HybridClassifier`` unchanged; only the source of the backbone
vector differs (the encoder's pooled output, recomputed every step, instead of a cached
embedding). Token ids come from the per-dataset cache (``features/tokens.npz``), so no candidate
tokenises again; batches are bucketed by length so padding stays small.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from hhnas.config import Backbone, Training
from hhnas.models.hybrid import HybridClassifier, count_parameters
from hhnas.records import Params, TrainResult
from hhnas.training.data import FeatureSet
from hhnas.training.loop import (
    LossHook,
    accuracy,
    autocast_for,
    fit,
    new_result,
    record_failure,
)
from hhnas.training.optimizers import make_optimizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Rows per length bucket, in batches: long enough to keep padding low, short enough that every
# epoch still mixes lengths and classes.
BUCKET_BATCHES = 50


class TokenCache:
    """Ragged token ids of every dataset row: ``ids[offsets[i]:offsets[i+1]]`` is row ``i``."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, pad_id: int) -> None:
        self.ids, self.offsets, self.pad_id = ids, offsets, int(pad_id)
        self.lengths = np.diff(offsets)

    def subset(self, rows: np.ndarray) -> TokenCache:
        """The token ids of ``rows`` alone, in that order (a split's texts, as tokenising them
        by themselves gives)."""
        parts = [self.ids[self.offsets[r] : self.offsets[r + 1]] for r in rows]
        offsets = np.zeros(len(rows) + 1, dtype=self.offsets.dtype)
        np.cumsum(self.lengths[rows], out=offsets[1:])
        ids = np.concatenate(parts) if parts else self.ids[:0]
        return TokenCache(ids, offsets, self.pad_id)

    @classmethod
    def load(cls, path: str) -> TokenCache:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["ids"], z["offsets"], int(z["pad_id"]))

    def pad(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Input ids and attention mask for ``rows``, padded to the longest of them."""
        width = int(self.lengths[rows].max())
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, r in enumerate(rows):
            a, b = self.offsets[r], self.offsets[r + 1]
            ids[j, : b - a] = self.ids[a:b]
            mask[j, : b - a] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask)


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Positions ``0..len(lengths)-1`` in batches of similar length.

    With ``rng``: shuffle, cut into buckets of ``BUCKET_BATCHES`` batches, sort each bucket by
    length, cut into batches and shuffle the batch order. Without: sorted by length (evaluation).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    bucket = batch_size * BUCKET_BATCHES
    batches: list[np.ndarray] = []
    for i in range(0, n, bucket):
        chunk = perm[i : i + bucket]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


class FineTunedHybrid(nn.Module):
    """Encoder -> pooled vector -> the same ``HybridClassifier`` heads as the frozen mode."""

    def __init__(self, encoder: nn.Module, head: HybridClassifier, pooling: str) -> None:
        super().__init__()
        self.encoder, self.head, self.pooling = encoder, head, pooling

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        llm: torch.Tensor,
        linking: torch.Tensor,
    ) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(pool(hidden.last_hidden_state, attention_mask, self.pooling), llm, linking)


def pick_device(training: Training) -> torch.device:
    """CUDA when the job was given a GPU (``training.gpu`` > 0) and one is visible."""
    if training.gpu > 0 and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def load_encoder(model_dir: str) -> nn.Module:
    from transformers import AutoModel

    return AutoModel.from_pretrained(model_dir, local_files_only=True)


def train_finetune_candidate(
    macro: list[int],
    params: Params,
    fs: FeatureSet,
    tokens: TokenCache,
    model_dir: str,
    training: Training,
    backbone: Backbone,
    seed: int,
    progress: Callable[[str], None] | None = None,
    encoder_factory: Callable[[str], nn.Module] = load_encoder,
    on_best: Callable[[FineTunedHybrid, int], None] | None = None,
    loss_hook: LossHook | None = None,
) -> TrainResult:
    """Fine-tune encoder + heads of one candidate; metrics as in the frozen mode. Any exception
    (a NaN loss, CUDA out of memory, an unbuildable layer size) ends it as 'failed'.
    ``backbone.pooling`` pools the encoder's output; ``on_best(model, epoch)`` runs at each new
    best epoch (hhnas.final keeps its weights)."""
    start = time.perf_counter()
    result = new_result()
    device = pick_device(training)
    result["device"] = str(device)
    model = opt = None
    try:
        torch.manual_seed(seed)
        if device.type == "cpu":
            torch.set_num_threads(training.threads)
        encoder = encoder_factory(model_dir)
        head = HybridClassifier(
            macro,
            params,
            fs.n_classes,
            int(encoder.config.hidden_size),
            fs.llm_shape,
            fs.linking_shape,
            training.cnn_filters,
            training.class_readout,
        )
        model = FineTunedHybrid(encoder, head, backbone.pooling).to(device)
        result["n_params"] = count_parameters(model)
        if training.compile and device.type == "cuda":
            model.encoder = torch.compile(model.encoder, dynamic=True)
        lr = float(params["learning_rate"])
        # The searched rate drives the encoder; the freshly initialised heads may learn faster
        # (training.head_lr_scale; 1 = the paper's single rate). See docs/algorithm.md.
        groups = [
            {"params": list(model.encoder.parameters()), "lr": lr},
            {"params": list(model.head.parameters()), "lr": lr * training.head_lr_scale},
        ]
        opt = make_optimizer(
            int(params["criterion_num"]), groups, lr, training, fused=device.type == "cuda"
        )
        llm = {s: t.to(device) for s, t in fs.llm.items()}
        linking = {s: t.to(device) for s, t in fs.linking.items()}
        ys = {s: t.to(device) for s, t in fs.y.items()}
        rows = fs.rows
        pin = device.type == "cuda"

        def move(x: torch.Tensor) -> torch.Tensor:
            return (x.pin_memory() if pin else x).to(device, non_blocking=True)

        def batches(split: str, rng: np.random.Generator | None) -> Iterator[tuple]:
            for pos in bucketed_batches(tokens.lengths[rows[split]], bs, rng):
                ids, mask = tokens.pad(rows[split][pos])
                p = torch.from_numpy(pos).to(device)
                yield (move(ids), move(mask), llm[split][p], linking[split][p]), ys[split][p]

        bs = training.batch_size

        def train_batches(epoch: int) -> Iterator[tuple]:
            return batches("train", np.random.default_rng([seed, epoch]))

        def evaluate(split: str) -> float:
            return accuracy((model(*inputs), y) for inputs, y in batches(split, None))

        fit(
            model,
            opt,
            train_batches,
            -(-len(rows["train"]) // bs),
            evaluate,
            training,
            result,
            autocast=autocast_for(device, training.amp),
            progress=progress,
            on_best=None if on_best is None else lambda epoch: on_best(model, epoch),
            loss_hook=loss_hook,
        )
        if device.type == "cuda":
            result["peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded for the search
        model = opt = None  # drop the references before freeing cached GPU memory
        record_failure(result, exc)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def finetuned_probabilities(
    model: FineTunedHybrid,
    tokens: TokenCache,
    llm: torch.Tensor,
    linking: torch.Tensor,
    batch_size: int,
) -> np.ndarray:
    """``[N, C]`` softmax probabilities of every row of ``tokens`` (float64, in row order),
    batched as training evaluated: sorted by length, ``batch_size`` rows a batch. The final
    model's recorded metrics and ``hhnas predict`` both come from here, so the same texts in
    the same order give the same numbers."""
    n = len(tokens.lengths)
    out: np.ndarray | None = None
    model.eval()
    with torch.no_grad():
        for pos in bucketed_batches(tokens.lengths, batch_size, None):
            ids, mask = tokens.pad(pos)
            p = torch.from_numpy(pos)
            probs = torch.softmax(model(ids, mask, llm[p], linking[p]).float(), dim=1)
            if out is None:
                out = np.zeros((n, probs.shape[1]))
            out[pos] = probs.double().numpy()
    return out if out is not None else np.zeros((0, 0))
