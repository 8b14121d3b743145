"""Fine-tuning mode: token cache, length buckets, the encoder+heads model, failures as records,
and the split-zip model packaging."""

import io
import json
import zipfile

import numpy as np
import pytest
import torch

from hhnas.config import Backbone, Training
from hhnas.features.split_zip import extract_parts, find_parts
from hhnas.models.hybrid import HybridClassifier
from hhnas.training.data import build_feature_set
from hhnas.training.finetune import (
    FineTunedHybrid,
    TokenCache,
    bucketed_batches,
    train_finetune_candidate,
)

PARAMS = {
    "learning_rate": 1e-2,
    "criterion_num": 0,
    "layer_size1": 32,
    "layer_size2": 16,
    "dropout_rate": 0.0,
    "kernel_size": 3,
}
# Only the pooling is read: the encoder comes from encoder_factory.
BACKBONE = Backbone(path="unused-dir", mode="finetune", pooling="mean", max_length=32, batch_size=8)
TRAIN_CFG = {
    "epochs": 15,
    "batch_size": 8,
    "cnn_filters": 2,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "threads": 1,
    "gpu": 0,
}


# ------------------------------------------------------------------ token batches


def test_token_cache_pads_each_batch_to_its_longest_row() -> None:
    cache = TokenCache(np.array([5, 6, 7, 8, 9, 10]), np.array([0, 3, 4, 6]), pad_id=1)
    ids, mask = cache.pad(np.array([2, 1]))
    assert ids.tolist() == [[9, 10], [8, 1]]
    assert mask.tolist() == [[1, 1], [1, 0]]
    assert cache.lengths.tolist() == [3, 1, 2]


def test_bucketed_batches_cover_every_row_once_and_are_seeded() -> None:
    lengths = np.random.default_rng(0).integers(3, 40, size=1000)
    a = bucketed_batches(lengths, 16, np.random.default_rng(7))
    b = bucketed_batches(lengths, 16, np.random.default_rng(7))
    c = bucketed_batches(lengths, 16, np.random.default_rng(8))
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    # Sorted within buckets: a batch spans far less than the whole length range.
    spread = np.mean([lengths[x].max() - lengths[x].min() for x in a])
    assert spread < 5


def test_evaluation_batches_are_sorted_by_length() -> None:
    lengths = np.array([5, 1, 4, 1, 3])
    batches = bucketed_batches(lengths, 2, None)
    assert [x.tolist() for x in batches] == [[1, 3], [4, 2], [0]]


# -------------------------------------------------------------- model and training


class TinyEncoder(torch.nn.Module):
    """A stand-in transformer: embeddings + one linear layer; enough to fine-tune."""

    def __init__(self, vocab: int = 20, hidden: int = 8) -> None:
        super().__init__()
        self.config = type("Cfg", (), {"hidden_size": hidden})()
        self.emb = torch.nn.Embedding(vocab, hidden)
        self.lin = torch.nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask):  # noqa: ANN001, ANN201
        out = type("Out", (), {})()
        out.last_hidden_state = torch.tanh(self.lin(self.emb(input_ids)))
        return out


def _toy(n: int = 60, classes: int = 3):
    """Row i of class c starts with token 2 + c: the encoder must learn the token's meaning."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    seqs = [[2 + c, *rng.integers(6, 20, size=rng.integers(2, 6)).tolist()] for c in labels]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seqs], out=offsets[1:])
    tokens = TokenCache(np.concatenate(seqs).astype(np.int32), offsets, pad_id=0)
    splits = (["train"] * 4 + ["val", "test"]) * (n // 6)
    fs = build_feature_set(
        splits,
        labels.tolist(),
        classes,
        None,
        rng.normal(size=(n, 1, classes)),
        rng.normal(size=(n, 2, classes)),
    )
    return fs, tokens


def _train(fs, tokens, loss_hook=None, **overrides):
    return train_finetune_candidate(
        [1, 1, 1],
        PARAMS,
        fs,
        tokens,
        "unused-dir",
        Training.from_mapping({**TRAIN_CFG, **overrides}),
        BACKBONE,
        seed=0,
        encoder_factory=lambda _: TinyEncoder(),
        loss_hook=loss_hook,
    )


def test_fine_tuning_trains_the_encoder_and_the_loss_goes_down() -> None:
    fs, tokens = _toy()
    res = _train(fs, tokens)
    assert res["status"] == "ok", res["error"]
    losses = [e["train_loss"] for e in res["epochs"]]
    assert losses[-1] < 0.5 * losses[0]
    # Only the encoder sees the class token, so high accuracy means it was trained.
    assert res["val_acc"] >= 0.9
    assert res["device"] == "cpu"


def test_schedule_and_clipping_run() -> None:
    fs, tokens = _toy()
    res = _train(fs, tokens, lr_schedule="linear", warmup_ratio=0.1, grad_clip=1.0, epochs=2)
    assert res["status"] == "ok" and len(res["epochs"]) == 2


def test_frozen_and_fine_tuned_modes_share_the_head_architecture() -> None:
    args = ([1, 1, 1], PARAMS, 3, 8, (1, 3), (2, 3), 2)
    frozen = HybridClassifier(*args)
    tuned = FineTunedHybrid(TinyEncoder(), HybridClassifier(*args), "mean")

    def shapes(m):
        return [(n, tuple(p.shape)) for n, p in m.named_parameters()]

    assert shapes(tuned.head) == shapes(frozen)
    assert str(tuned.head) == str(frozen)


def _nan(loss):
    return loss * float("nan")


def _oom(loss):
    # What a CUDA allocation failure raises inside the step.
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.mark.parametrize(
    ("fault", "error_class", "message"),
    [
        (_nan, "FloatingPointError", "training loss is nan at epoch 1"),
        (_oom, "OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB"),
    ],
)
def test_nan_and_out_of_memory_are_failed_candidates(
    monkeypatch, fault, error_class, message
) -> None:
    fs, tokens = _toy()
    res = _train(fs, tokens, loss_hook=lambda loss, epoch: fault(loss))
    assert res["status"] == "failed"
    assert (res["val_acc"], res["test_acc"]) == (0.0, 0.0)
    assert res["error_class"] == error_class
    assert res["error"] == f"{error_class}: {message}"


# ------------------------------------------------------------------ split zip


def _split_zip(tmp_path, files: dict[str, str], parts: int):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    data = buf.getvalue()
    size = -(-len(data) // parts)
    site = tmp_path / "site"
    for i in range(parts):
        pkg = site / f"model-pypi-part_{i + 1:03d}" / "input"
        pkg.mkdir(parents=True)
        (pkg / f"model.zip.{i + 1:03d}").write_bytes(data[i * size : (i + 1) * size])
    return site


def test_split_zip_parts_are_found_in_order_joined_and_extracted(tmp_path) -> None:
    site = _split_zip(tmp_path, {"m/config.json": json.dumps({"x": 1}), "m/w.bin": "w" * 500}, 3)
    parts = find_parts("model", "backbone.path", dirs=[site])
    assert [p.name for p in parts] == ["model.zip.001", "model.zip.002", "model.zip.003"]
    out = extract_parts(parts, tmp_path / "out")
    assert out == tmp_path / "out" / "m"
    assert json.loads((out / "config.json").read_text()) == {"x": 1}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temp left


def test_split_zip_missing_parts_name_the_key(tmp_path) -> None:
    site = _split_zip(tmp_path, {"m/config.json": "{}"}, 3)
    with pytest.raises(FileNotFoundError, match="no part 'other.zip.001'.*backbone.path"):
        find_parts("other", "backbone.path", dirs=[site])
    (site / "model-pypi-part_002" / "input" / "model.zip.002").unlink()
    with pytest.raises(FileNotFoundError, match=r"parts \[2\] of 3 are missing"):
        find_parts("model", "backbone.path", dirs=[site])


def test_split_zip_without_a_model_leaves_nothing(tmp_path) -> None:
    site = _split_zip(tmp_path, {"readme.txt": "no model here"}, 2)
    with pytest.raises(ValueError, match="holds no config.json"):
        extract_parts(find_parts("model", "k", dirs=[site]), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_token_cache_subset_keeps_the_rows_ids_in_order():
    from hhnas.training.finetune import TokenCache

    # rows: [5, 6], [7], [8, 9, 10]
    cache = TokenCache(np.array([5, 6, 7, 8, 9, 10]), np.array([0, 2, 3, 6]), pad_id=0)
    sub = cache.subset(np.array([2, 0]))
    assert sub.ids.tolist() == [8, 9, 10, 5, 6]
    assert sub.offsets.tolist() == [0, 3, 5] and sub.lengths.tolist() == [3, 2]
    ids, mask = sub.pad(np.array([1, 0]))
    assert ids.tolist() == [[5, 6, 0], [8, 9, 10]] and mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    assert cache.subset(np.array([], dtype=np.int64)).offsets.tolist() == [0]
