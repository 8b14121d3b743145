"""The paper's names for the hybrid templates the macro bits choose."""

from __future__ import annotations


def model_number(macro: list[int] | tuple[int, ...]) -> int:
    """Paper's model names: M1 backbone only, M2 + LLM-CNN (p2), M3 + linking-CNN (p3), M4 both.

    Templates without the backbone (p1 = 0, only reachable when p1 is mutable) are M5-M8.
    """
    p1, p2, p3 = (int(b) for b in macro)
    return 1 + p2 + 2 * p3 + 4 * (1 - p1)
