"""Train and evaluate one candidate on cached features (the frozen mode); a failing candidate
becomes a record, not a crash."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import torch

from hhnas.config import Training
from hhnas.models.hybrid import HybridClassifier, count_parameters
from hhnas.records import Params, TrainResult
from hhnas.training.data import FeatureSet
from hhnas.training.loop import LossHook, accuracy, fit, new_result, record_failure
from hhnas.training.optimizers import make_optimizer

EVAL_BATCH = 1024


def train_candidate(
    macro: list[int],
    params: Params,
    fs: FeatureSet,
    training: Training,
    seed: int,
    progress: Callable[[str], None] | None = None,
    on_best: Callable[[HybridClassifier, int], None] | None = None,
    loss_hook: LossHook | None = None,
) -> TrainResult:
    """Train the heads of one candidate; return its metrics (best-validation epoch and its test
    accuracy, every epoch's figures). Any exception ends the candidate with status 'failed'.
    ``on_best(model, epoch)`` runs at each new best epoch (hhnas.final keeps its weights)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(training.threads)
    with subnormals_flushed():
        return _train(macro, params, fs, training, seed, start, progress, on_best, loss_hook)


def build_model(
    macro: list[int], params: Params, fs: FeatureSet, training: Training
) -> HybridClassifier:
    """The candidate's template sized for the feature set (the same call trains and predicts)."""
    return HybridClassifier(
        macro,
        params,
        fs.n_classes,
        fs.backbone_dim,
        fs.llm_shape,
        fs.linking_shape,
        training.cnn_filters,
        training.class_readout,
    )


@contextlib.contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Subnormal floats make CPU arithmetic many times slower, and RMSprop's running squares of
    near-zero gradients (e.g. a branch over all-zero schema-linking features) decay into them
    (benchmarks/README.md); below 1.2e-38 they change no accuracy a run can see. The flag is
    the processor's, global to the thread: it is set back afterwards, since other code (e.g.
    hypothesis' float strategies in the same test process) needs IEEE-754 subnormals."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _train(
    macro: list[int],
    params: Params,
    fs: FeatureSet,
    training: Training,
    seed: int,
    start: float,
    progress: Callable[[str], None] | None,
    on_best: Callable[[HybridClassifier, int], None] | None,
    loss_hook: LossHook | None,
) -> TrainResult:
    result = new_result()
    result["device"] = "cpu"
    try:
        model = build_model(macro, params, fs, training)
        result["n_params"] = count_parameters(model)
        opt = make_optimizer(
            int(params["criterion_num"]),
            model.parameters(),
            float(params["learning_rate"]),
            training,
            light=True,
        )
        gen = torch.Generator().manual_seed(seed)
        n, bs = fs.y["train"].shape[0], training.batch_size

        def inputs(split: str, idx: torch.Tensor | slice) -> tuple[torch.Tensor, ...]:
            return fs.backbone[split][idx], fs.llm[split][idx], fs.linking[split][idx]

        # Inputs the template never reads are not gathered: it gets empty tensors for them.
        used = (model.use["backbone"], model.use["llm"], model.use["linking"])

        def train_batches(epoch: int) -> Iterator[tuple]:
            order = torch.randperm(n, generator=gen)
            # One gather per epoch, then each batch is a contiguous view: the same rows in the
            # same order as indexing batch by batch, without four index ops per step.
            x = [
                t.index_select(0, order) if u else t[:0]
                for t, u in zip(inputs("train", slice(None)), used, strict=True)
            ]
            y = fs.y["train"].index_select(0, order)
            for i in range(0, n, bs):
                yield tuple(t[i : i + bs] for t in x), y[i : i + bs]

        def evaluate(split: str) -> float:
            rows = fs.y[split].shape[0]
            return accuracy(
                (model(*inputs(split, slice(i, i + EVAL_BATCH))), fs.y[split][i : i + EVAL_BATCH])
                for i in range(0, rows, EVAL_BATCH)
            )

        fit(
            model,
            opt,
            train_batches,
            -(-n // bs),
            evaluate,
            training,
            result,
            progress=progress,
            on_best=None if on_best is None else lambda epoch: on_best(model, epoch),
            loss_hook=loss_hook,
        )
    except Exception as exc:  # noqa: BLE001 - any failure is recorded for the search
        record_failure(result, exc)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result
