"""What one search iteration job (and the final model retraining its candidates) reads.

rules/common.smk serialises :meth:`hhnas.config.Config.job_config` into the job's payload; the
job parses it here once, and passes the typed sections down (the search strategy its
:class:`Search`, the training its :class:`Training`). The mapping itself stays beside them: it
is what the search's config hash is computed from (hhnas.jobs.iteration.search_config_hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hhnas.config.sections import Search, Training


@dataclass(frozen=True)
class JobConfig:
    raw: dict[str, Any] = field(repr=False)
    search: Search
    training: Training
    backbone: dict[str, Any] = field(repr=False)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> JobConfig:
        raw = dict(raw)
        return cls(
            raw=raw,
            search=Search.from_mapping(raw["search"]),
            training=Training.from_mapping(raw["training"]),
            backbone=dict(raw["backbone"]),
        )

    @property
    def finetune(self) -> bool:
        """The encoder is trained with each candidate (backbone.mode finetune)."""
        return self.backbone["mode"] == "finetune"
