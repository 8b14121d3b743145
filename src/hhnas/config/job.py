"""What one search iteration job (and the final model retraining its candidates) reads.

rules/common.smk serialises :meth:`hhnas.config.Config.job_config` into the job's payload; the
job parses it here once, and passes the typed sections down (the search strategy its
:class:`Search`, the training its :class:`Training`, the fine-tuning its :class:`Backbone`).
The mapping itself stays beside them: it is what the search's config hash is computed from
(hhnas.jobs.iteration.search_config_hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hhnas.config.sections import (
    LLM,
    Backbone,
    FinalEnsemble,
    FinalFinetune,
    Search,
    Training,
    nested_section,
)


@dataclass(frozen=True)
class JobConfig:
    raw: dict[str, Any] = field(repr=False)
    search: Search
    training: Training
    backbone: Backbone
    llm: LLM

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> JobConfig:
        raw = dict(raw)
        return cls(
            raw=raw,
            search=Search.from_mapping(raw["search"]),
            training=Training.from_mapping(raw["training"]),
            backbone=Backbone.from_mapping(raw["backbone"]),
            llm=LLM.from_mapping(raw["llm"]),
        )

    @property
    def finetune(self) -> bool:
        """The encoder is trained with each candidate (backbone.mode finetune)."""
        return self.backbone.mode == "finetune"


@dataclass(frozen=True)
class FinalJob:
    """The final model job's own settings (:meth:`hhnas.config.Config.final_job_config`):
    `final.ensemble`, the fine-tuning recipe, the job's threads and the feature jobs' (which
    prediction uses too), and the C grid of the lexical member (`comparison.tfidf_c_grid`)."""

    ensemble: FinalEnsemble
    finetune: FinalFinetune
    threads: int
    features_threads: int
    tfidf_c_grid: tuple[float, ...]


@dataclass(frozen=True)
class FinalJobConfig(JobConfig):
    """The final model job's payload: the main search's job config and :class:`FinalJob`."""

    final: FinalJob

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> FinalJobConfig:
        job = JobConfig.from_mapping(raw)
        final = raw["final"]
        return cls(
            **{f.name: getattr(job, f.name) for f in fields(JobConfig)},
            final=FinalJob(
                ensemble=nested_section(FinalEnsemble, "final.ensemble", final),
                finetune=nested_section(FinalFinetune, "final.finetune", final),
                threads=int(final["threads"]),
                features_threads=int(raw["features_threads"]),
                tfidf_c_grid=tuple(float(c) for c in final["tfidf_c_grid"]),
            ),
        )
