"""The hybrid templates of the paper, built from a plain dict of parameters.

Model 1: backbone features -> MLP. Model 2: + a parallel CNN over LLM features. Model 3: + a
parallel CNN over schema-linking features. Model 4: both CNNs. The CNNs see the per-database signals
as a 1-D sequence over databases (channels = signal kinds), so `kernel_size` mixes neighbouring
databases' scores and `layer_size2` sizes each branch's output.

Class-aligned readout (``class_readout``, on by default; docs/algorithm.md): position ``c`` of a
branch's input holds the signals *about database c*, which is class ``c``. Besides the paper's
flatten -> dense path into the shared head, each branch maps its conv features at every position
to one score with a 1x1 convolution and adds it to that class's logit. A dense layer over the
flattened sequence has to learn the identity "evidence at position c supports class c" 87 times
over from ~50 examples per class; the shared 1x1 readout learns it once. On the default Spider
split it lifts Model 4 with default parameters from 87.3 % to 90.3 % test accuracy.

Speed (frozen mode: one CPU thread, batch 128). The parameters are the stock ``nn.Conv1d``/
``nn.Linear``/``nn.Dropout`` modules, built in the same order, so a seed gives the same initial
weights as ever and ``state_dict`` keys are unchanged; ``forward`` computes the same function with
cheaper kernels (``CNNBranch.forward``, ``HybridClassifier._head``). With the fused optimizers of
training/light_optim.py, a quick-profile candidate on Spider went from 1.1 / 2.6 / 2.7 / 3.9 s to
0.85 / 1.6-1.8 / 1.8-1.9 / 2.5-2.8 s (Models 1-4, default parameters; benchmarks/
bench_iteration.py), and Model 4 with layers 1024/512 from 16.2 to 12.9-13.2 s. What is left is
mostly the dense layers' matrix products, already at the core's ~95 GFLOPS.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


class CNNBranch(nn.Module):
    def __init__(
        self,
        channels: int,
        length: int,
        filters: int,
        kernel_size: int,
        out_dim: int,
        dropout: float,
        class_readout: bool = True,
    ):
        super().__init__()
        # No dropout inside the branch: the head's input dropout already drops its outputs, and
        # a second mask over the wide flattened conv features cost a fifth of Model 4's step
        # time for no accuracy (3 seeds x Models 3/4: 90.4 % test with it, 90.4 % without).
        # `dropout` stays in the signature so every template reads one parameter vector.
        del dropout
        self.conv = nn.Conv1d(channels, filters, kernel_size, padding="same")
        self.proj = nn.Linear(filters * length, out_dim)
        self.readout = nn.Conv1d(filters, 1, 1) if class_readout else None
        # padding="same" puts the odd one of an even kernel's padding on the right.
        self._pad = ((kernel_size - 1) // 2, kernel_size - 1 - (kernel_size - 1) // 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (features for the shared head, per-class scores or None).

        The convolutions run as matrix products in a filter-major layout rather than through
        ``self.conv``/``self.readout``: with 2 or 7 channels, 8 filters and 87 positions, oneDNN's
        per-call overhead dwarfs the arithmetic. One CPU thread, batch 128, forward + backward of
        the whole branch (layer_size2 128, kernel 1-7): 1.9-3.0 ms as Conv1d modules, 1.1-1.6 ms
        as products, 0.7 ms of which is ``proj``. The 1x1 readout alone was 0.6 ms as a Conv1d
        and is 0.07 ms as a [1, filters] x [filters, rows * positions] product. Same weights, same
        function (tests/test_training_speed_equivalence.py checks it against ``F.conv1d``).
        """
        rows, channels, length = x.shape
        conv = self.conv
        filters, k = conv.out_channels, conv.kernel_size[0]
        xp = F.pad(x, self._pad) if k > 1 else x
        # im2col with (channel, tap) rows and (row, position) columns; the weight's own layout
        # [filters, channels, taps] is then already the left factor.
        cols = xp.unfold(2, k, 1).permute(1, 3, 0, 2).reshape(channels * k, rows * length)
        h = torch.relu(torch.addmm(conv.bias[:, None], conv.weight.view(filters, -1), cols))
        scores = None
        if self.readout is not None:
            scores = (self.readout.weight.view(1, filters) @ h).view(rows, length)
            scores = scores + self.readout.bias
        # flatten(1) order of a [rows, filters, positions] map, which proj's weight expects.
        flat = h.view(filters, rows, length).transpose(0, 1).reshape(rows, filters * length)
        feats = torch.relu(self.proj(flat))
        return feats, scores


def _dropout_masks(
    shapes: list[tuple[int, int]], p: float, dtype: torch.dtype, device: torch.device
) -> list[torch.Tensor]:
    """Inverted-dropout multipliers: 1/(1-p) with probability 1 - p, else 0; global torch RNG.

    One ``random_`` draw of 64-bit words serves every mask of a step, each 32-bit half deciding
    one entry: the CPU generator (mt19937) hands out raw words about 1.5x faster than
    ``torch.rand`` makes floats, and ``bernoulli_`` (what ``F.dropout`` uses) is 2.5x slower
    than ``torch.rand``. The keep probability is exact to 2^-32 (``torch.rand`` resolves 2^-24).
    """
    sizes = [r * c for r, c in shapes]
    total = sum(sizes)
    words = torch.empty((total + 1) // 2, dtype=torch.int64, device=device)
    halves = words.random_(-(2**63), None).view(torch.int32)[:total]
    # Uniform over [-2^31, 2^31): keep iff at or above the p-quantile.
    threshold = min(round(p * 2**32) - 2**31, 2**31 - 1)
    scale = torch.full((), 1.0 / (1.0 - p), dtype=dtype, device=device)
    masks = torch.where(halves >= threshold, scale, scale.new_zeros(()))
    return [m.view(shape) for m, shape in zip(masks.split(sizes), shapes, strict=True)]


class _DropoutLinear(torch.autograd.Function):
    """``linear(dropout(cat(parts)))`` with the input gradient only for parts that need one.

    Autograd's addmm would compute the gradient of the whole concatenated input, including the
    cached backbone columns that nothing trains (384 of 640 columns for Model 4 with default
    parameters: a twelfth of its dense-layer arithmetic). ``mask`` is the scaled keep mask
    (0 or 1/(1-p)) or None.
    """

    @staticmethod
    def forward(ctx, weight, bias, mask, *parts):  # type: ignore[no-untyped-def]
        x = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        if mask is not None:
            x = x.mul_(mask) if len(parts) > 1 else x * mask
        ctx.save_for_backward(weight, mask, x)
        ctx.widths = [int(p.shape[1]) for p in parts]
        return torch.addmm(bias, x, weight.t())

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        weight, mask, x = ctx.saved_tensors
        # Under autocast the output (so grad) may be bf16 while weight and x are float32.
        weight, x = weight.to(grad.dtype), x.to(grad.dtype)
        need_w, need_b, _, *need_parts = ctx.needs_input_grad
        grad_w = grad.t().mm(x) if need_w else None
        grad_b = grad.sum(0) if need_b else None
        grad_parts: list[torch.Tensor | None] = [None] * len(need_parts)
        if any(need_parts):
            first = need_parts.index(True)
            start = sum(ctx.widths[:first])
            # A column slice of the weight is a valid BLAS operand: no copy.
            gx = grad.mm(weight[:, start:])
            if mask is not None:
                gx.mul_(mask[:, start:])
            for i, g in enumerate(gx.split(ctx.widths[first:], 1), start=first):
                if need_parts[i]:
                    grad_parts[i] = g
        return grad_w, grad_b, None, *grad_parts


class HybridClassifier(nn.Module):
    """Concatenate the enabled branches, then the MLP head (ls1, ls2) and the classifier."""

    def __init__(
        self,
        macro: list[int],
        params: dict[str, float],  # hhnas.records.Params (a layer-mate: not imported)
        n_classes: int,
        backbone_dim: int,
        llm_shape: tuple[int, int],
        linking_shape: tuple[int, int],
        cnn_filters: int,
        class_readout: bool = True,
    ):
        super().__init__()
        p1, p2, p3 = (bool(b) for b in macro)
        ls1, ls2 = int(params["layer_size1"]), int(params["layer_size2"])
        drop, ks = float(params["dropout_rate"]), int(params["kernel_size"])
        self.use = {"backbone": p1, "llm": p2, "linking": p3}
        width = backbone_dim if p1 else 0
        for name, shape in (("llm", llm_shape), ("linking", linking_shape)):
            if shape[1] != n_classes and class_readout:
                raise ValueError(
                    f"{name} features cover {shape[1]} databases but there are {n_classes} "
                    "classes: the class-aligned readout needs one position per class"
                )
        branch = (cnn_filters, ks, ls2, drop, class_readout)
        self.llm = CNNBranch(*llm_shape, *branch) if p2 else None
        self.linking = CNNBranch(*linking_shape, *branch) if p3 else None
        width += ls2 * (p2 + p3)
        if width == 0:
            raise ValueError(f"macro bits {macro} enable no input branch: nothing to classify from")
        # The head's modules hold its parameters and describe it; forward() computes the same
        # function as calling this Sequential, with fused kernels.
        self.head = nn.Sequential(
            nn.Dropout(drop),
            nn.Linear(width, ls1),
            nn.ReLU(),
            nn.Dropout(drop),
            nn.Linear(ls1, ls2),
            nn.ReLU(),
            nn.Dropout(drop),
            nn.Linear(ls2, n_classes),
        )

    def forward(
        self, backbone: torch.Tensor, llm: torch.Tensor, linking: torch.Tensor
    ) -> torch.Tensor:
        parts = [backbone] if self.use["backbone"] else []
        scores = []
        for branch, x in ((self.llm, llm), (self.linking, linking)):
            if branch is not None:
                feats, score = branch(x)
                parts.append(feats)
                if score is not None:
                    scores.append(score)
        logits = self._head(parts)
        for score in scores:
            logits = logits + score
        return logits

    def _head(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """``self.head(torch.cat(parts, 1))`` with inverted dropout (keep 1 - p, scale 1/(1-p)).

        Cheaper than the Sequential: the masks come from one raw RNG draw per step
        (``_dropout_masks``), each ReLU and the dropout after it are one multiplication by
        ``(z > 0) * keep / (1 - p)`` (one pass backward instead of two), and the first layer skips
        the backbone's input gradient (``_DropoutLinear``).
        """
        if parts[0].device.type != "cpu":
            # The fused path was written and measured for the CPU's small heads; on a GPU (the
            # paper profile, measured on an H200 with the Sequential) the head is not the cost.
            return self.head(torch.cat(parts, 1))
        drop_in, fc1, _, _, fc2, _, _, fc3 = self.head
        p = float(drop_in.p)
        if not (self.training and 0.0 < p < 1.0):
            # Dropout is the identity (eval, p = 0); p = 1 keeps the Sequential's zeros.
            if p >= 1.0 and self.training:
                return self.head(torch.cat(parts, 1))
            z = _DropoutLinear.apply(fc1.weight, fc1.bias, None, *parts)
            return fc3(torch.relu(fc2(torch.relu(z))))
        rows = parts[0].shape[0]
        width = sum(int(t.shape[1]) for t in parts)
        shapes = [(rows, width), (rows, fc1.out_features), (rows, fc2.out_features)]
        # The dtype torch.cat gives the parts (float32 here; mixed under autocast).
        dtype = functools.reduce(torch.promote_types, [t.dtype for t in parts])
        mask_in, mask1, mask2 = _dropout_masks(shapes, p, dtype, parts[0].device)
        z = _DropoutLinear.apply(fc1.weight, fc1.bias, mask_in, *parts)
        # relu then dropout is one product: where z <= 0 both give 0, the gradient included.
        z = z * ((z > 0) * mask1).to(z.dtype)
        z = fc2(z)
        z = z * ((z > 0) * mask2).to(z.dtype)
        return fc3(z)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
