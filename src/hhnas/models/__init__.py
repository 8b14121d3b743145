from hhnas.models.hybrid import HybridClassifier, count_parameters

__all__ = ["HybridClassifier", "count_parameters"]
