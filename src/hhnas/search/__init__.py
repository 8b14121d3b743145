"""The search algorithm: pure Python, no torch, no files except its own state."""

from hhnas.config.templates import model_number
from hhnas.search.space import SearchSpace, space_from_config
from hhnas.search.strategy import (
    STRATEGIES,
    HHNASStrategy,
    OptunaTPEStrategy,
    RandomMutationStrategy,
    RandomStrategy,
    SearchStrategy,
    make_strategy,
)

__all__ = [
    "STRATEGIES",
    "HHNASStrategy",
    "OptunaTPEStrategy",
    "RandomMutationStrategy",
    "RandomStrategy",
    "SearchSpace",
    "SearchStrategy",
    "make_strategy",
    "model_number",
    "space_from_config",
]
