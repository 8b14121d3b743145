"""Training side: feature standardisation, the hybrid heads, optimizers, one candidate."""

import math

import numpy as np
import pytest
import torch

from hhnas.config import Training
from hhnas.models.hybrid import HybridClassifier, count_parameters
from hhnas.training.candidate import train_candidate
from hhnas.training.data import _standardise, build_feature_set
from hhnas.training.optimizers import make_optimizer

PARAMS = {
    "learning_rate": 0.01,
    "criterion_num": 0,
    "layer_size1": 32,
    "layer_size2": 16,
    "dropout_rate": 0.0,
    "kernel_size": 3,
}
TRAIN = {
    "epochs": 15,
    "batch_size": 16,
    "cnn_filters": 4,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "threads": 1,
}
TRAIN_CFG = Training.from_mapping(TRAIN)


# ------------------------------------------------------------------ standardisation


def test_standardise_2d_is_per_column_with_train_rows_only() -> None:
    x = np.array([[1.0, 10.0], [3.0, 10.0], [100.0, 0.0]])
    out = _standardise(x, np.array([True, True, False]))
    # column 0: mean 2, std 1; column 1: std 0 -> divided by 1, not by 0
    np.testing.assert_allclose(out[:, 0], [-1.0, 1.0, 98.0])
    np.testing.assert_allclose(out[:, 1], [0.0, 0.0, -10.0])


def test_standardise_3d_pools_each_channel_over_databases() -> None:
    # [rows, channels, databases]; channel 0 train values 1, 3, 5, 7 -> mean 4, std sqrt(5)
    x = np.zeros((3, 2, 2))
    x[0, 0], x[1, 0], x[2, 0] = [1, 3], [5, 7], [4, 9]
    x[:, 1] = 2.0  # constant channel
    out = _standardise(x, np.array([True, True, False]))
    s5 = math.sqrt(5.0)
    np.testing.assert_allclose(out[:, 0], [[-3 / s5, -1 / s5], [1 / s5, 3 / s5], [0, 5 / s5]])
    np.testing.assert_allclose(out[:, 1], 0.0)


# ---------------------------------------------------------------------- the heads


def _model(macro, readout=True, n_classes=3, linking_shape=(2, 3)):
    return HybridClassifier(
        macro, PARAMS, n_classes, 5, (1, 3), linking_shape, cnn_filters=1, class_readout=readout
    )


def test_class_readout_adds_each_databases_score_to_its_own_logit() -> None:
    model = _model([1, 0, 1]).eval()
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()
        conv = model.linking.conv  # 1 filter, kernel 3: pick channel 0 at the centre tap
        conv.weight.zero_()
        conv.weight[0, 0, 1] = 1.0
        conv.bias.zero_()
        model.linking.readout.weight.fill_(2.0)
        model.linking.readout.bias.fill_(0.5)
    linking = torch.tensor([[[1.0, -4.0, 3.0], [9.0, 9.0, 9.0]]])
    logits = model(torch.zeros(1, 5), torch.zeros(1, 1, 3), linking)
    # 2 * relu(channel 0) + 0.5, position by position
    np.testing.assert_allclose(logits.detach().numpy(), [[2.5, 0.5, 6.5]])


def test_readout_switch_changes_only_the_readout_parameters() -> None:
    with_readout = count_parameters(_model([1, 1, 1], readout=True))
    without = count_parameters(_model([1, 1, 1], readout=False))
    assert with_readout - without == 2 * (1 + 1)  # per branch: 1 filter weight + 1 bias


def test_readout_needs_one_position_per_class() -> None:
    with pytest.raises(ValueError, match="class-aligned readout"):
        _model([1, 0, 1], linking_shape=(2, 4))
    _model(
        [1, 0, 1], readout=False, linking_shape=(2, 4)
    )  # the paper's path alone has no such need


@pytest.mark.parametrize(
    ("macro", "branches"),
    [([1, 0, 0], (False, False)), ([1, 1, 0], (True, False)), ([1, 0, 1], (False, True))],
)
def test_macro_bits_pick_the_branches(macro, branches) -> None:
    model = _model(macro)
    assert (model.llm is not None, model.linking is not None) == branches


def test_no_branch_is_an_error() -> None:
    with pytest.raises(ValueError, match="enable no input branch"):
        _model([0, 0, 0])


# ---------------------------------------------------------------------- optimizers


@pytest.mark.parametrize(
    ("num", "cls"), [(0, torch.optim.AdamW), (1, torch.optim.SGD), (2, torch.optim.RMSprop)]
)
def test_criterion_num_picks_the_papers_optimizer(num, cls) -> None:
    opt = make_optimizer(num, [torch.nn.Parameter(torch.zeros(2))], 0.1, TRAIN_CFG)
    assert type(opt) is cls
    assert opt.param_groups[0]["lr"] == 0.1
    if num == 1:
        assert opt.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize(("num", "fused"), [(0, True), (1, True), (2, None)])
def test_fused_steps_where_torch_has_them(num, fused) -> None:
    opt = make_optimizer(num, [torch.nn.Parameter(torch.zeros(2))], 0.1, TRAIN_CFG, fused=True)
    assert opt.defaults.get("fused") is fused
    assert opt.defaults.get("foreach") is (None if fused else True)


def test_tf32_switch_is_set_for_every_cuda_candidate() -> None:
    from hhnas.training.loop import autocast_for

    cuda = torch.device("cuda")
    try:
        autocast_for(cuda, "tf32")
        assert torch.backends.cuda.matmul.allow_tf32
        # The next candidate asks for float32: the process-wide switch must not leak into it.
        autocast_for(cuda, "none")
        assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def test_unknown_criterion_num_is_an_error() -> None:
    with pytest.raises(ValueError, match="criterion_num"):
        make_optimizer(3, [torch.nn.Parameter(torch.zeros(2))], 0.1, TRAIN_CFG)


# ------------------------------------------------------------------ one candidate


@pytest.fixture(scope="module")
def toy_features():
    """3 classes; the backbone carries a noisy class signal, linking channel 0 a clean one."""
    rng = np.random.default_rng(0)
    n = 120
    labels = np.arange(n) % 3
    splits = ["train"] * 80 + ["val"] * 20 + ["test"] * 20
    backbone = rng.normal(size=(n, 5)) + np.eye(3, 5)[labels] * 0.5
    llm = rng.normal(size=(n, 1, 3))
    linking = rng.normal(size=(n, 2, 3)) * 0.1
    linking[np.arange(n), 0, labels] += 1.0
    return build_feature_set(splits, labels.tolist(), 3, backbone, llm, linking)


def test_candidate_learns_and_records_every_epoch(toy_features) -> None:
    res = train_candidate([1, 0, 1], PARAMS, toy_features, TRAIN_CFG, seed=0)
    assert res["status"] == "ok" and res["error"] is None
    assert len(res["epochs"]) == TRAIN_CFG.epochs
    losses = [e["train_loss"] for e in res["epochs"]]
    assert losses[-1] < 0.5 * losses[0]
    assert res["val_acc"] >= 0.9  # the schema-linking channel separates the classes
    best = res["epochs"][res["best_epoch"] - 1]
    assert (best["val_acc"], best["test_acc"]) == (res["val_acc"], res["test_acc"])
    assert res["val_acc"] == max(e["val_acc"] for e in res["epochs"])


def test_test_split_is_scored_only_where_validation_improves(toy_features) -> None:
    cfg = Training.from_mapping({**TRAIN, "epochs": 8})
    res = train_candidate([1, 1, 1], {**PARAMS, "learning_rate": 0.3}, toy_features, cfg, 1)
    best_so_far = -1.0
    improved = []
    for e in res["epochs"]:
        improved.append(e["val_acc"] > best_so_far)
        assert (e["test_acc"] is not None) == improved[-1], e
        best_so_far = max(best_so_far, e["val_acc"])
    assert improved[0] and not all(improved)  # the case this test is about happened
    assert res["test_acc"] == res["epochs"][res["best_epoch"] - 1]["test_acc"] is not None


def test_candidate_is_deterministic_for_a_seed(toy_features) -> None:
    a = train_candidate([1, 1, 1], PARAMS, toy_features, TRAIN_CFG, seed=3)
    b = train_candidate([1, 1, 1], PARAMS, toy_features, TRAIN_CFG, seed=3)

    def timeless(res):
        return [{k: v for k, v in e.items() if "seconds" not in k} for e in res["epochs"]]

    assert timeless(a) == timeless(b)


def test_nan_loss_is_a_failed_candidate_not_a_crash(toy_features, monkeypatch) -> None:
    res = train_candidate(
        [1, 0, 0],
        PARAMS,
        toy_features,
        TRAIN_CFG,
        seed=0,
        loss_hook=lambda loss, epoch: loss * float("nan") if epoch == 2 else loss,
    )
    assert res["status"] == "failed"
    assert res["error"].startswith("FloatingPointError: training loss is nan at epoch 2")
    assert (res["val_acc"], res["test_acc"]) == (0.0, 0.0)
    assert len(res["epochs"]) == 1  # the finished epoch is kept for the report


def test_unbuildable_candidate_is_a_failed_candidate(toy_features) -> None:
    res = train_candidate([1, 0, 0], {**PARAMS, "layer_size1": -1}, toy_features, TRAIN_CFG, 0)
    assert res["status"] == "failed" and res["val_acc"] == 0.0
    assert res["n_params"] is None


# ------------------------------------------------------------- light optimizers


@pytest.mark.parametrize("num", [0, 1, 2])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_light_optimizers_match_torch_optim_step_by_step(num, weight_decay) -> None:
    cfg = Training.from_mapping({**TRAIN, "weight_decay": weight_decay})
    gen = torch.Generator().manual_seed(num)
    start = [torch.randn(4, 3, generator=gen), torch.randn(3, generator=gen)]
    ours = [torch.nn.Parameter(t.clone()) for t in start]
    ref = [torch.nn.Parameter(t.clone()) for t in start]
    light = make_optimizer(num, ours, 0.05, cfg, light=True)
    stock = make_optimizer(num, ref, 0.05, cfg, light=False)
    assert not isinstance(light, torch.optim.Optimizer)
    for _ in range(6):
        grads = [torch.randn(t.shape, generator=gen) for t in start]
        for opt, params in ((light, ours), (stock, ref)):
            opt.zero_grad()
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            opt.step()
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)
    assert not torch.equal(ours[0].detach(), start[0])  # the parameters did move


def test_light_optimizer_needs_every_gradient() -> None:
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))]
    opt = make_optimizer(0, params, 0.1, TRAIN_CFG, light=True)
    params[0].grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="expects a gradient for every parameter"):
        opt.step()


def test_frozen_training_does_not_import_dynamo() -> None:
    # The reason the light optimizers exist: importing torch._dynamo costs ~1 s per job.
    import subprocess
    import sys

    from conftest import ROOT

    src = ROOT / "src"
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r}); import numpy as np\n"
        "from hhnas.training.data import build_feature_set\n"
        "from hhnas.config import Training\n"
        "from hhnas.training.candidate import train_candidate\n"
        "fs = build_feature_set(['train']*6 + ['val', 'test'], [0, 1]*4, 2,\n"
        "    np.random.rand(8, 3), np.random.rand(8, 1, 2), np.random.rand(8, 2, 2))\n"
        "p = dict(learning_rate=0.01, criterion_num=CRIT, layer_size1=4, layer_size2=4,\n"
        "    dropout_rate=0.1, kernel_size=1)\n"
        "tc = Training.from_mapping(dict(epochs=2, batch_size=4, cnn_filters=2,\n"
        "    momentum=0.9, weight_decay=0.01))\n"
        "r = train_candidate([1, 1, 1], p, fs, tc, seed=0)\n"
        "assert r['status'] == 'ok', r\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    for crit in (0, 1, 2):
        out = subprocess.run(
            [sys.executable, "-c", code.replace("CRIT", str(crit))],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "False", (crit, out.stdout, out.stderr)


def test_training_leaves_subnormal_floats_as_they_were():
    """train_candidate flushes subnormals only while it trains (a global processor flag);
    afterwards they exist again, as IEEE-754 and hypothesis' float strategies need."""
    import sys as _sys

    from hhnas.training.candidate import subnormals_flushed

    tiny = _sys.float_info.min / 2**10
    x = torch.tensor([tiny], dtype=torch.float64)
    with subnormals_flushed():
        assert (x * 1.0).item() == 0.0
    assert (x * 1.0).item() == tiny
