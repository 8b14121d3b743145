"""Which candidates the final model retrains: the best by validation accuracy over every
experiment of the main search (never by test accuracy)."""

from __future__ import annotations

from collections.abc import Iterable

from hhnas.io import read_json
from hhnas.records import Metrics


def rank_candidates(records: Iterable[Metrics]) -> list[Metrics]:
    """Successful candidates, best validation accuracy first; ties go to the earlier experiment,
    then the earlier iteration (the report's rule, hhnas.reporting.tables.best_candidate)."""
    ok = [r for r in records if r.get("status") == "ok"]
    return sorted(ok, key=lambda r: (-float(r["val_acc"]), int(r["experiment"]), r["iteration"]))


def select_candidates(metrics_paths: Iterable[str], k: int = 1) -> list[Metrics]:
    """The top ``k`` candidates of the metrics files (all of them when fewer succeeded); a
    ValueError if none succeeded."""
    if k < 1:
        raise ValueError(f"final.ensemble.candidates must be >= 1, got {k}")
    paths = list(metrics_paths)
    ranked = rank_candidates(read_json(p) for p in paths)
    if not ranked:
        raise ValueError(
            f"no successful candidate among {len(paths)} metrics files: the final model needs "
            "one (see the report's failed candidates)"
        )
    return ranked[:k]
