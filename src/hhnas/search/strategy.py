"""The registry of search strategies; each lives in its own module behind SearchStrategy."""

from __future__ import annotations

import os

from hhnas.config import Search
from hhnas.search.base import SearchStrategy, rng_from_json, rng_to_json
from hhnas.search.hhnas_am import HHNASStrategy
from hhnas.search.optuna_tpe import OptunaTPEStrategy
from hhnas.search.random_mutation import RandomMutationStrategy
from hhnas.search.random_search import RandomStrategy

STRATEGIES: dict[str, type[SearchStrategy]] = {
    cls.name: cls
    for cls in (HHNASStrategy, RandomMutationStrategy, RandomStrategy, OptunaTPEStrategy)
}


def make_strategy(search: Search, study_dir: str | os.PathLike | None = None) -> SearchStrategy:
    """`search.strategy` (default hhnas); `study_dir` is where a strategy may keep files beside
    its states (optuna-tpe's SQLite study; None = in memory)."""
    name = search.strategy
    if name not in STRATEGIES:
        raise ValueError(
            f"search.strategy={name!r} is unknown; allowed: {', '.join(sorted(STRATEGIES))}"
        )
    return STRATEGIES[name](search, study_dir=study_dir)


__all__ = [
    "STRATEGIES",
    "HHNASStrategy",
    "OptunaTPEStrategy",
    "RandomMutationStrategy",
    "RandomStrategy",
    "SearchStrategy",
    "make_strategy",
    "rng_from_json",
    "rng_to_json",
]
