"""The frozen mode's fast paths compute what the plain modules and torch.optim compute.

``HybridClassifier`` runs its convolutions as matrix products, draws dropout masks from raw
RNG words and fuses each ReLU with the dropout after it; the light optimizers call torch's
fused kernels. Each test here pins one of those against an explicit reference.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from hhnas.config import Training
from hhnas.models.hybrid import CNNBranch, HybridClassifier, _dropout_masks
from hhnas.training.optimizers import make_optimizer

N_CLASSES, BACKBONE = 11, 6


def _reference_branch(branch: CNNBranch, x: torch.Tensor):
    """CNNBranch as the paper's modules compute it: Conv1d, flatten, Linear, 1x1 Conv1d."""
    h = torch.relu(F.conv1d(x, branch.conv.weight, branch.conv.bias, padding="same"))
    feats = torch.relu(F.linear(h.flatten(1), branch.proj.weight, branch.proj.bias))
    scores = None
    if branch.readout is not None:
        scores = F.conv1d(h, branch.readout.weight, branch.readout.bias).squeeze(1)
    return feats, scores


def _grads(module: torch.nn.Module) -> list[torch.Tensor]:
    grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad(set_to_none=True)
    return grads


@pytest.mark.parametrize("channels", [2, 7])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("readout", [True, False])
def test_branch_matches_conv1d_reference(channels, kernel_size, readout) -> None:
    torch.manual_seed(kernel_size)
    branch = CNNBranch(channels, N_CLASSES, 8, kernel_size, 5, 0.0, class_readout=readout)
    x = torch.randn(9, channels, N_CLASSES)
    w_feats, w_scores = torch.randn(9, 5), torch.randn(9, N_CLASSES)

    def loss(feats, scores):
        out = (feats * w_feats).sum()
        return out + (scores * w_scores).sum() if scores is not None else out

    feats, scores = branch(x)
    loss(feats, scores).backward()
    fast = _grads(branch)
    ref_feats, ref_scores = _reference_branch(branch, x)
    loss(ref_feats, ref_scores).backward()
    ref = _grads(branch)

    torch.testing.assert_close(feats, ref_feats, rtol=1e-5, atol=1e-5)
    if readout:
        torch.testing.assert_close(scores, ref_scores, rtol=1e-5, atol=1e-5)
    else:
        assert scores is None
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _model(macro, p, readout=True, kernel_size=3):
    params = {"layer_size1": 16, "layer_size2": 8, "dropout_rate": p, "kernel_size": kernel_size}
    shapes = ((2, N_CLASSES), (7, N_CLASSES))
    return HybridClassifier(macro, params, N_CLASSES, BACKBONE, *shapes, 4, class_readout=readout)


def _inputs(rows=13, backbone_grad=False):
    gen = torch.Generator().manual_seed(99)
    backbone = torch.randn(rows, BACKBONE, generator=gen).requires_grad_(backbone_grad)
    llm = torch.randn(rows, 2, N_CLASSES, generator=gen)
    linking = torch.randn(rows, 7, N_CLASSES, generator=gen)
    return backbone, llm, linking


def _reference_forward(model, backbone, llm, linking, masks):
    """The Sequential head with explicit masks (None: no dropout)."""
    parts, scores = ([backbone] if model.use["backbone"] else []), []
    for branch, x in ((model.llm, llm), (model.linking, linking)):
        if branch is not None:
            feats, score = _reference_branch(branch, x)
            parts.append(feats)
            if score is not None:
                scores.append(score)
    drop_in, fc1, relu1, _, fc2, relu2, _, fc3 = model.head
    m_in, m1, m2 = masks if masks is not None else (1.0, 1.0, 1.0)
    z = fc1(torch.cat(parts, 1) * m_in)
    z = fc2(relu1(z) * m1)
    logits = fc3(relu2(z) * m2)
    for score in scores:
        logits = logits + score
    return logits


@pytest.mark.parametrize("macro", [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 1]])
@pytest.mark.parametrize("backbone_grad", [False, True])
def test_training_forward_and_gradients_match_the_sequential_head(macro, backbone_grad) -> None:
    torch.manual_seed(0)
    p = 0.3
    backbone_grad = backbone_grad and bool(macro[0])  # Model [0, 1, 1] reads no backbone
    model = _model(macro, p).train()
    inputs = _inputs(backbone_grad=backbone_grad)
    target = torch.randn(inputs[0].shape[0], N_CLASSES)

    torch.manual_seed(5)
    out = model(*inputs)
    (out * target).sum().backward()
    fast = _grads(model)
    fast_input = inputs[0].grad.clone() if backbone_grad else None
    if backbone_grad:
        inputs[0].grad = None

    # The branches draw nothing, so re-seeding and drawing again gives the forward's masks.
    torch.manual_seed(5)
    width = BACKBONE * macro[0] + 8 * (macro[1] + macro[2])
    masks = _dropout_masks([(13, width), (13, 16), (13, 8)], p, torch.float32, torch.device("cpu"))
    ref_out = _reference_forward(model, *inputs, masks)
    (ref_out * target).sum().backward()
    ref = _grads(model)

    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    if backbone_grad:  # the fine-tuning mode trains the encoder through the backbone input
        torch.testing.assert_close(fast_input, inputs[0].grad, rtol=1e-5, atol=1e-5)


def test_eval_mode_has_no_dropout_and_draws_no_randomness() -> None:
    torch.manual_seed(0)
    model = _model([1, 1, 1], 0.5).eval()
    inputs = _inputs()
    state = torch.get_rng_state()
    with torch.no_grad():
        out = model(*inputs)
        again = model(*inputs)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(out, again)
    torch.testing.assert_close(out, _reference_forward(model, *inputs, None), rtol=1e-5, atol=1e-5)


def test_zero_dropout_in_training_is_the_plain_network() -> None:
    torch.manual_seed(0)
    model = _model([1, 1, 1], 0.0).train()
    inputs = _inputs()
    ref = _reference_forward(model, *inputs, None)
    torch.testing.assert_close(model(*inputs), ref, rtol=1e-5, atol=1e-5)


def test_full_dropout_drops_every_input() -> None:
    # p = 1: the head sees zeros, so the output is the bias path alone, as with nn.Dropout(1.0).
    torch.manual_seed(0)
    model = _model([1, 0, 0], 1.0).train()
    out = model(*_inputs())
    fc3 = model.head[-1]
    z = torch.relu(model.head[4](torch.zeros(1, 16)))
    torch.testing.assert_close(out, (fc3(z * 0.0)).expand_as(out))


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5, 0.7])
def test_dropout_masks_keep_one_minus_p_and_scale_by_its_inverse(p) -> None:
    torch.manual_seed(1)
    shapes = [(128, 1001), (128, 256), (128, 77)]
    masks = _dropout_masks(shapes, p, torch.float32, torch.device("cpu"))
    assert [tuple(m.shape) for m in masks] == shapes
    scale = torch.tensor(1.0 / (1.0 - p), dtype=torch.float32)
    for m in masks:
        kept = m != 0
        assert torch.equal(m[kept], scale.expand(int(kept.sum())))
        # Binomial: the kept fraction lies within 6 standard deviations of 1 - p.
        n = m.numel()
        sd = math.sqrt(p * (1 - p) / n)
        assert abs(kept.float().mean().item() - (1 - p)) < 6 * sd
    # Neighbouring entries are independent: the pair (kept, kept) occurs (1-p)^2 of the time.
    flat = torch.cat([m.flatten() != 0 for m in masks]).float()
    both = (flat[1:] * flat[:-1]).mean().item()
    assert abs(both - (1 - p) ** 2) < 6 * math.sqrt((1 - p) ** 2 / flat.numel())


def test_dropout_is_deterministic_for_a_seed() -> None:
    torch.manual_seed(3)
    model = _model([1, 1, 1], 0.4).train()
    inputs = _inputs()

    def run(seed):
        torch.manual_seed(seed)
        return model(*inputs)

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_initial_weights_are_those_of_the_plain_modules() -> None:
    # The fast paths must not change what the seed draws: build the same modules by hand.
    torch.manual_seed(11)
    model = _model([1, 1, 1], 0.2)
    torch.manual_seed(11)
    expected = [
        torch.nn.Conv1d(2, 4, 3, padding="same"),
        torch.nn.Linear(4 * N_CLASSES, 8),
        torch.nn.Conv1d(4, 1, 1),
        torch.nn.Conv1d(7, 4, 3, padding="same"),
        torch.nn.Linear(4 * N_CLASSES, 8),
        torch.nn.Conv1d(4, 1, 1),
        torch.nn.Linear(BACKBONE + 16, 16),
        torch.nn.Linear(16, 8),
        torch.nn.Linear(8, N_CLASSES),
    ]
    ours = list(model.parameters())
    theirs = [p for m in expected for p in m.parameters()]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------ optimizers

OPTIMIZER_CASES = [
    # (criterion_num, momentum, weight_decay)
    (0, 0.9, 0.0),
    (0, 0.9, 0.01),
    (1, 0.9, 0.0),
    (1, 0.9, 0.05),
    (1, 0.0, 0.05),
    (2, 0.9, 0.0),
    (2, 0.9, 0.01),
]


@pytest.mark.parametrize(("num", "momentum", "weight_decay"), OPTIMIZER_CASES)
def test_fused_light_optimizers_track_torch_optim(num, momentum, weight_decay) -> None:
    cfg = Training.from_mapping(
        {
            "epochs": 1,
            "batch_size": 1,
            "cnn_filters": 1,
            "momentum": momentum,
            "weight_decay": weight_decay,
        }
    )
    gen = torch.Generator().manual_seed(num)
    # Odd sizes: the fused kernels' vector loop and scalar tail both run.
    start = [torch.randn(37, 19, generator=gen), torch.randn(5, generator=gen) * 3]
    ours = [torch.nn.Parameter(t.clone()) for t in start]
    ref = [torch.nn.Parameter(t.clone()) for t in start]
    light = make_optimizer(num, ours, 0.01, cfg, light=True)
    stock = make_optimizer(num, ref, 0.01, cfg, light=False)
    assert not isinstance(light, torch.optim.Optimizer)
    for step in range(12):
        # A schedule changes the rate between steps; both must follow it.
        for opt in (light, stock):
            opt.param_groups[0]["lr"] = 0.01 * (1.0 - step / 24)
        grads = [torch.randn(t.shape, generator=gen) for t in start]
        for opt, params in ((light, ours), (stock, ref)):
            opt.zero_grad()
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            opt.step()
        for a, b in zip(ours, ref, strict=True):
            torch.testing.assert_close(a.detach(), b.detach(), rtol=2e-6, atol=2e-7)
    assert not torch.equal(ours[0].detach(), start[0])


def test_light_rmsprop_refuses_an_alpha_its_kernel_cannot_express() -> None:
    from hhnas.training.light_optim import LightRMSprop

    with pytest.raises(ValueError, match="alpha"):
        LightRMSprop([torch.nn.Parameter(torch.zeros(2))], 0.1, 0.0, alpha=1.0)
