"""One search iteration as one job: previous state -> propose -> train -> observe -> new state.

:func:`run_iteration` is the whole job; each step is a function of its own so that a unit test
can call it without a workflow."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, NotRequired, TypedDict

import numpy as np

from hhnas.config import Search, hashed_search
from hhnas.config.job import JobConfig
from hhnas.config.variants import BUDGET_KEYS
from hhnas.data.prepare import read_dataset
from hhnas.io import read_json, write_json
from hhnas.jobs import faults
from hhnas.records import Candidate, Metrics, Score, SearchState, TrainResult
from hhnas.search.base import SearchStrategy
from hhnas.search.objective import objective
from hhnas.search.state import config_hash, file_fingerprint, load_state, save_state
from hhnas.search.strategy import make_strategy
from hhnas.training.candidate import train_candidate
from hhnas.training.data import FeatureSet, build_feature_set

METRICS_VERSION = 1


class IterationPayload(TypedDict):
    """The JSON an iteration job is handed (rules/common.smk); the wildcards ``experiment``
    and ``iteration`` may arrive as strings."""

    config: dict[str, Any]  # Config.job_config: the raw sections, parsed by JobConfig
    dataset: str
    experiment: int | str
    iteration: int | str
    prev_state: str | None
    inputs: dict[str, str]
    out_state: str
    out_metrics: str
    variant: NotRequired[str | None]
    log: NotRequired[str | None]
    mirror: NotRequired[str | None]


class StateIdentity(TypedDict):
    """What a state file names to belong to one search (hhnas.search.state checks it)."""

    strategy: str
    cfg_hash: str
    dataset: str
    experiment: int
    fingerprint: str


@dataclass(frozen=True)
class IterationJob:
    """What one iteration job reads and writes. ``config`` is parsed once, from the payload
    (its search section is the variant's, hhnas.config.variants). ``inputs``: rows, classes,
    llm, linking, and backbone (cached embeddings, frozen mode) or tokens + model (token cache and
    the backbone.json naming the encoder, fine-tuning mode)."""

    config: JobConfig
    dataset: str
    experiment: int
    iteration: int
    prev_state: str | None
    inputs: dict[str, str]
    out_state: str
    out_metrics: str
    variant: str | None = None
    log: str | None = field(default=None, compare=False)
    # The results folder of the Optuna mirror (execution.optuna_mirror), or None; like the log,
    # it says where a copy goes, not what the job computes.
    mirror: str | None = field(default=None, compare=False)

    @classmethod
    def from_payload(cls, payload: IterationPayload) -> IterationJob:
        return cls(
            **{
                **payload,
                "config": JobConfig.from_mapping(payload["config"]),
                "experiment": int(payload["experiment"]),
                "iteration": int(payload["iteration"]),
            }
        )

    def to_payload(self) -> IterationPayload:
        return {**asdict(self), "config": self.config.raw}

    @property
    def finetune(self) -> bool:
        return self.config.finetune


def search_config_hash(config: dict[str, Any], dataset: str) -> str:
    """Everything that changes a search's outcome; the run length (iterations, experiments) is
    left out so that a finished search can be extended and resumed."""
    search = hashed_search(config["search"], BUDGET_KEYS)
    return config_hash(
        search,
        config["training"],
        config["backbone"],
        config["llm"],
        config["datasets"][dataset],
        config["data"].get("split"),
        config["data"].get("split_seed"),
    )


def experiment_seed(search: Search, experiment: int) -> int:
    return search.seed * 1000 + experiment


def training_seed(search: Search, experiment: int, iteration: int) -> int:
    """Torch and NumPy are re-seeded from this in every job, so a redone job draws the same."""
    return experiment_seed(search, experiment) * 100_003 + iteration


def make_job_strategy(job: IterationJob) -> SearchStrategy:
    # Strategies that keep files of their own (Optuna's study) keep them beside the states.
    return make_strategy(job.config.search, study_dir=os.path.dirname(job.out_state) or ".")


def state_identity(job: IterationJob, strategy: SearchStrategy) -> StateIdentity:
    """What a state file must name to belong to this search (checked on load)."""
    return StateIdentity(
        strategy=strategy.name,
        cfg_hash=search_config_hash(job.config.raw, job.dataset),
        dataset=job.dataset,
        experiment=job.experiment,
        fingerprint=file_fingerprint(job.inputs["rows"], job.inputs["classes"]),
    )


def start_state(job: IterationJob, strategy: SearchStrategy, ident: StateIdentity) -> SearchState:
    """Iteration 0 starts from the config; iteration i from the checked state of i-1."""
    if job.iteration == 0:
        return strategy.initial_state(experiment_seed(job.config.search, job.experiment))
    if job.prev_state is None:
        raise ValueError(
            f"iteration {job.iteration} needs the state of iteration {job.iteration - 1}"
        )
    return load_state(job.prev_state, iteration=job.iteration - 1, **ident)


def propose(
    strategy: SearchStrategy, state: SearchState, iteration: int
) -> tuple[Candidate, SearchState]:
    candidate, state = strategy.propose(state)
    if candidate["iteration"] != iteration:
        raise RuntimeError(f"state proposes iteration {candidate['iteration']}, not {iteration}")
    return candidate, state


def load_features(inputs: dict[str, str], with_backbone: bool) -> FeatureSet:
    rows = read_dataset(inputs["rows"])
    return build_feature_set(
        [r["split"] for r in rows],
        [r["label"] for r in rows],
        len(read_json(inputs["classes"])["classes"]),
        np.load(inputs["backbone"]) if with_backbone else None,
        np.load(inputs["llm"]),
        np.load(inputs["linking"]),
    )


def train(
    job: IterationJob, strategy: SearchStrategy, candidate: Candidate, fs: FeatureSet
) -> TrainResult:
    """Train and evaluate the candidate; a failure is a result (``status: failed``), not an
    exception."""
    loss_hook = faults.loss_hook(
        job.dataset, job.variant or strategy.name, job.experiment, job.iteration
    )
    seed = training_seed(job.config.search, job.experiment, job.iteration)
    progress = lambda msg: print(f"  {msg}", file=sys.stderr)  # noqa: E731
    if job.finetune:
        # Imported here: the frozen path must not pay for transformers' import.
        from hhnas.training.finetune import TokenCache, train_finetune_candidate

        return train_finetune_candidate(
            candidate["macro"],
            candidate["params"],
            fs,
            TokenCache.load(job.inputs["tokens"]),
            read_json(job.inputs["model"])["path"],
            job.config.training,
            job.config.backbone,
            seed=seed,
            progress=progress,
            loss_hook=loss_hook,
        )
    return train_candidate(
        candidate["macro"],
        candidate["params"],
        fs,
        job.config.training,
        seed=seed,
        progress=progress,
        loss_hook=loss_hook,
    )


def metrics_record(
    job: IterationJob,
    strategy: SearchStrategy,
    candidate: Candidate,
    result: TrainResult,
    score: Score,
    job_seconds: float,
) -> Metrics:
    """The metrics file's content (its key order is part of the file: keep it)."""
    return {
        "version": METRICS_VERSION,
        "variant": job.variant or strategy.name,
        "strategy": strategy.name,
        "dataset": job.dataset,
        "experiment": job.experiment,
        "iteration": job.iteration,
        "model": candidate["model"],
        "macro": candidate["macro"],
        "params": candidate["params"],
        "mutated": sorted(candidate["mutated"]),
        **result,
        **score,
        # The whole job after the interpreter started: state I/O, strategy, data, training.
        "job_seconds": round(job_seconds, 3),
    }


def _where(job: IterationJob) -> str:
    return f"[{job.dataset} exp{job.experiment} iter{job.iteration}]"


def mirror_iteration(job: IterationJob, strategy: SearchStrategy) -> None:
    """Bring the experiment's study in the Optuna mirror up to date (hhnas.mirror). A failure
    is reported in the job's log and does not fail the job: the state files are the truth, and
    `make mirror` rebuilds the journal from them."""
    start = time.perf_counter()
    try:
        from hhnas.mirror.sync import sync_experiment
        from hhnas.search.optuna_tpe import optuna_distributions

        appended = sync_experiment(
            job.mirror,
            os.path.dirname(job.out_state),
            optuna_distributions(strategy.space),
            job.iteration,
        )
    except Exception as exc:  # noqa: BLE001 - the mirror is a view; the job's files are written
        print(
            f"{_where(job)} optuna mirror not updated ({type(exc).__name__}: {exc}); the "
            "results are unaffected, `make mirror` rebuilds it",
            file=sys.stderr,
        )
        return
    print(
        f"{_where(job)} optuna mirror: {appended} trial(s) appended in "
        f"{time.perf_counter() - start:.3f}s",
        file=sys.stderr,
    )


def run_iteration(job: IterationJob) -> Metrics:
    """The whole iteration; writes the metrics file, then the state file (the next job's input,
    so a kill between the two redoes this job)."""
    job_start = time.perf_counter()
    strategy = make_job_strategy(job)
    ident = state_identity(job, strategy)
    state = start_state(job, strategy, ident)
    candidate, state = propose(strategy, state, job.iteration)
    fs = load_features(job.inputs, with_backbone=not job.finetune)
    # Where the job ran: a cluster's job id and the GPUs it was given (the SLURM test reads them).
    placement = {k: os.environ.get(k, "") for k in ("SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES")}
    print(" ".join(f"{k}={v}" for k, v in placement.items()), file=sys.stderr)
    print(
        f"{_where(job)} model M{candidate['model']} "
        f"params {candidate['params']} mutated {sorted(candidate['mutated'])}",
        file=sys.stderr,
    )
    result = train(job, strategy, candidate, fs)
    # A failed candidate earns 0: the search learns to avoid that region.
    score = objective(result, job.config.search.raw)
    state = strategy.observe(state, candidate, score["objective"])
    metrics = metrics_record(
        job, strategy, candidate, result, score, time.perf_counter() - job_start
    )
    write_json(job.out_metrics, metrics)
    save_state(job.out_state, state, **ident)
    if job.mirror:
        mirror_iteration(job, strategy)
    print(
        f"{_where(job)} {result['status']} "
        f"val {result['val_acc']:.4f} test {result['test_acc']:.4f} "
        f"({result['seconds']:.1f}s)",
        file=sys.stderr,
    )
    return metrics
