"""The macro/micro search space: parameter kinds, ranges and the unit scale they mutate in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

BINARY = "binary"
DISCRETE = "discrete"
CONTINUOUS = "continuous"
MACRO_BITS = ("p1", "p2", "p3")


@dataclass(frozen=True)
class Param:
    """One mutable feature s of the Q-table.

    Continuous parameters mutate in a normalised unit interval (log10 for `log: true`) so that one
    scale `k` and one variance range fit every parameter; discrete ones move one step along
    `choices`; binary ones are the macro bits. A parameter with `mutable: false` keeps its initial
    value in every strategy (the ablations fix the micro or the macro level this way).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple = ()
    mutable: bool = True

    def to_unit(self, value: float) -> float:
        lo, hi, v = self.low, self.high, float(value)
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        return (v - lo) / (hi - lo)

    def from_unit(self, u: float) -> float:
        u = min(1.0, max(0.0, u))
        lo, hi = self.low, self.high
        if self.log:
            v = 10 ** (math.log10(lo) + u * (math.log10(hi) - math.log10(lo)))
        else:
            v = lo + u * (hi - lo)
        return min(hi, max(lo, v))  # log10 round trips can leave [low, high] by one ulp


@dataclass(frozen=True)
class SearchSpace:
    macro_initial: tuple[int, int, int]
    macro_mutable: tuple[bool, bool, bool]
    params: tuple[Param, ...]
    initial: dict

    @property
    def features(self) -> list[Param]:
        """Every mutable feature, macro bits first, in a fixed order (the RNG draws follow it)."""
        bits = [Param(n, BINARY) for n, m in zip(MACRO_BITS, self.macro_mutable, strict=True) if m]
        return bits + [p for p in self.params if p.mutable]

    def param(self, name: str) -> Param:
        for p in self.features:
            if p.name == name:
                return p
        raise KeyError(name)

    def value_of(self, p: Param, macro: list[int], params: dict[str, Any]) -> Any:
        """The value of feature `p` in a configuration (a macro bit or a micro parameter)."""
        return macro[MACRO_BITS.index(p.name)] if p.kind == BINARY else params[p.name]


def space_from_config(search_cfg: dict[str, Any]) -> SearchSpace:
    macro = search_cfg["macro"]
    params: list[Param] = []
    initial: dict[str, Any] = {}
    for name, spec in search_cfg["parameters"].items():
        kind = spec["type"]
        mutable = spec.get("mutable", True)
        if not isinstance(mutable, bool):
            raise ValueError(f"search.parameters.{name}.mutable must be true or false")
        if kind == CONTINUOUS:
            p = Param(
                name,
                kind,
                float(spec["low"]),
                float(spec["high"]),
                bool(spec.get("log", False)),
                mutable=mutable,
            )
            if not p.low <= float(spec["initial"]) <= p.high:
                raise ValueError(
                    f"search.parameters.{name}.initial={spec['initial']} is outside [low, high]"
                )
            if p.log and p.low <= 0:
                raise ValueError(f"search.parameters.{name}.low must be > 0 when log: true")
            initial[name] = float(spec["initial"])
        elif kind == DISCRETE:
            p = Param(name, kind, choices=tuple(spec["choices"]), mutable=mutable)
            if spec["initial"] not in p.choices:
                raise ValueError(
                    f"search.parameters.{name}.initial={spec['initial']} is not one of "
                    f"choices {list(p.choices)}"
                )
            initial[name] = spec["initial"]
        else:
            raise ValueError(f"search.parameters.{name}.type must be continuous or discrete")
        params.append(p)
    space = SearchSpace(
        macro_initial=tuple(int(b) for b in macro["initial"]),
        macro_mutable=tuple(bool(b) for b in macro["mutable"]),
        params=tuple(params),
        initial=initial,
    )
    if not space.features:
        # Every strategy would re-evaluate the initial architecture forever.
        raise ValueError(
            "nothing in the search space is mutable: set search.macro.mutable or some "
            "search.parameters.*.mutable to true"
        )
    return space
