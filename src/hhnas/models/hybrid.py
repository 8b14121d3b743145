"""The hybrid templates of the paper, built from a plain dict of parameters.

Model 1: backbone features -> MLP. Model 2: + a parallel CNN over LLM features. Model 3: + a
parallel CNN over rule-based features. Model 4: both CNNs. The CNNs see the per-database signals
as a 1-D sequence over databases (channels = signal kinds), so `kernel_size` mixes neighbouring
databases' scores and `layer_size2` sizes each branch's output.
"""

from __future__ import annotations

from typing import Any

import torch
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
    ):
        super().__init__()
        self.conv = nn.Conv1d(channels, filters, kernel_size, padding="same")
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(filters * length, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x)).flatten(1)
        return torch.relu(self.proj(self.drop(h)))


class HybridClassifier(nn.Module):
    """Concatenate the enabled branches, then the MLP head (ls1, ls2) and the classifier."""

    def __init__(
        self,
        macro: list[int],
        params: dict[str, Any],
        n_classes: int,
        backbone_dim: int,
        llm_shape: tuple[int, int],
        rule_shape: tuple[int, int],
        cnn_filters: int,
    ):
        super().__init__()
        p1, p2, p3 = (bool(b) for b in macro)
        ls1, ls2 = int(params["layer_size1"]), int(params["layer_size2"])
        drop, ks = float(params["dropout_rate"]), int(params["kernel_size"])
        self.use = {"backbone": p1, "llm": p2, "rule": p3}
        width = backbone_dim if p1 else 0
        self.llm = CNNBranch(*llm_shape, cnn_filters, ks, ls2, drop) if p2 else None
        self.rule = CNNBranch(*rule_shape, cnn_filters, ks, ls2, drop) if p3 else None
        width += ls2 * (p2 + p3)
        if width == 0:
            raise ValueError(f"macro bits {macro} enable no input branch: nothing to classify from")
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
        self, backbone: torch.Tensor, llm: torch.Tensor, rule: torch.Tensor
    ) -> torch.Tensor:
        parts = []
        if self.use["backbone"]:
            parts.append(backbone)
        if self.llm is not None:
            parts.append(self.llm(llm))
        if self.rule is not None:
            parts.append(self.rule(rule))
        return self.head(torch.cat(parts, dim=1))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
