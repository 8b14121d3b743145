"""Ablation of HHNAS-AM's learning: the same mutation operator with a Q-table and mu/sigma^2 that
never change."""

from __future__ import annotations

from hhnas.search.hhnas_am import HHNASStrategy


class RandomMutationStrategy(HHNASStrategy):
    """HHNAS without its learning step: the Q-table stays at q_init (uniform mutation
    probabilities, 50/50 directions) and mean/var at their initial values, so any gain of HHNAS
    over this strategy is due to the adaptive part. Parent choice and rewards are as in HHNAS."""

    name = "random-mutation"
    learns = False
