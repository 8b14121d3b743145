"""The macro/micro search space the strategies search: its features, in a fixed order.

Built from the configuration's one parsed form of each parameter (hhnas.config's
:class:`Parameter`, validated there before any job); the macro bits join them as binary
parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hhnas.config.sections import Parameter, parameters
from hhnas.records import Params

BINARY = "binary"
DISCRETE = "discrete"
CONTINUOUS = "continuous"
MACRO_BITS = ("p1", "p2", "p3")


@dataclass(frozen=True)
class SearchSpace:
    macro_initial: tuple[int, int, int]
    macro_mutable: tuple[bool, bool, bool]
    params: tuple[Parameter, ...]
    initial: Params

    @property
    def features(self) -> list[Parameter]:
        """Every mutable feature, macro bits first, in a fixed order (the RNG draws follow it)."""
        bits = [
            Parameter(n, BINARY, b, 0.0, 1.0)
            for n, b, m in zip(MACRO_BITS, self.macro_initial, self.macro_mutable, strict=True)
            if m
        ]
        return bits + [p for p in self.params if p.mutable]

    def param(self, name: str) -> Parameter:
        for p in self.features:
            if p.name == name:
                return p
        raise KeyError(name)

    def value_of(self, p: Parameter, macro: list[int], params: Params) -> float:
        """The value of feature `p` in a configuration (a macro bit or a micro parameter)."""
        return macro[MACRO_BITS.index(p.name)] if p.type == BINARY else params[p.name]


def _numeric(p: Parameter) -> Parameter:
    """A continuous parameter's range and initial value as floats (the state files hold them so)."""
    if p.type != CONTINUOUS:
        return p
    return Parameter(
        p.name, p.type, float(p.initial), float(p.low), float(p.high), p.log, mutable=p.mutable
    )


def space_from_config(search_cfg: Mapping[str, Any]) -> SearchSpace:
    """The space of a `search` section that hhnas.config has checked (parameter_problems)."""
    macro = search_cfg["macro"]
    params = tuple(_numeric(p) for p in parameters(search_cfg))
    return SearchSpace(
        macro_initial=tuple(int(b) for b in macro["initial"]),
        macro_mutable=tuple(bool(b) for b in macro["mutable"]),
        params=params,
        initial={p.name: p.initial for p in params},
    )
