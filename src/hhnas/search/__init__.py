"""The search algorithm: pure Python, no torch, no files except its own state."""

from hhnas.search.space import SearchSpace, model_number, space_from_config
from hhnas.search.strategy import HHNASStrategy, SearchStrategy, make_strategy

__all__ = [
    "HHNASStrategy",
    "SearchSpace",
    "SearchStrategy",
    "make_strategy",
    "model_number",
    "space_from_config",
]
