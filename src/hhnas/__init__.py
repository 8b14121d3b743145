"""HHNAS-AM: hierarchical hybrid NAS with Q-learning adaptive mutation, as a Snakemake workflow."""

__version__ = "0.1.0"
