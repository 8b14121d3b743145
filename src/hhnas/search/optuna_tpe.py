"""Optuna's TPE over the same macro/micro space: a model-based baseline for HHNAS-AM.

Optuna is imported inside the methods so that the other strategies' jobs do not pay for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hhnas.config import Search
from hhnas.records import Candidate, HistoryEntry, Params, SearchState
from hhnas.search.base import (
    SearchStrategy,
    changes_from_initial,
    copy_state,
    make_candidate,
    record,
    reward_baseline,
)
from hhnas.search.space import BINARY, CONTINUOUS, MACRO_BITS, SearchSpace

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

STUDY_NAME = "hhnas"
DB_NAME = "optuna.db"


def sampler_seed(seed: int, iteration: int) -> int:
    """A fresh TPE seed per iteration, so that a resumed job samples exactly what the killed one
    would have (the sampler's own RNG does not survive between jobs)."""
    digest = hashlib.sha256(f"optuna-tpe:{seed}:{iteration}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class OptunaTPEStrategy(SearchStrategy):
    """TPE via Optuna's ask/tell, maximising validation accuracy.

    The JSON state is the truth; the study (SQLite `{study_dir}/optuna.db`, study "hhnas", or
    in-memory when `study_dir` is None) is a cache of the state's history. propose() rebuilds it
    from the history whenever the two differ (a job killed after ask() leaves a RUNNING trial,
    one killed after tell() an extra trial), then asks with a TPESampler seeded from the state's
    seed and the iteration: same state, same candidate. Every iteration, 0 included, is asked of
    TPE (the first `n_startup_trials` are TPE's random startup samples), so [0, 0, 0] can be
    proposed when all macro bits are mutable; it fails in training and is recorded like in
    HHNAS. `mutated` lists the features that differ from their initial value; `current` is the
    last candidate (TPE has no parent).
    """

    name = "optuna-tpe"

    def __init__(self, search: Search, study_dir: str | os.PathLike | None = None):
        super().__init__(search, study_dir)
        self.n_startup_trials = self.cfg.optuna_startup_trials
        self.multivariate = self.cfg.optuna_multivariate
        self._memory: Any = None  # the in-memory storage, kept between propose and observe
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no INFO line per trial

    # -- the Optuna view of the space -------------------------------------------------------

    def distributions(self) -> dict[str, BaseDistribution]:
        return optuna_distributions(self.space)

    def trial_params(self, macro: list[int], params: Params) -> Params:
        return optuna_trial_params(self.space, macro, params)

    # -- the study ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _open_optuna_study(
        self, sampler: Any = None, fresh: bool = False
    ) -> Iterator[optuna.Study]:
        """Open the study; `fresh` first throws away whatever was stored."""
        import optuna

        engine = None
        if self.study_dir is None:
            if fresh or self._memory is None:
                self._memory = optuna.storages.InMemoryStorage()
            storage: Any = self._memory
        else:
            path = os.path.join(self.study_dir, DB_NAME)
            if fresh:
                for suffix in ("", "-journal", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path + suffix)
            os.makedirs(self.study_dir, exist_ok=True)
            storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
            engine = storage.engine
        try:
            yield optuna.create_study(
                storage=storage,
                sampler=sampler,
                study_name=STUDY_NAME,
                direction="maximize",
                load_if_exists=True,
            )
        finally:
            if engine is not None:
                engine.dispose()

    def _in_sync(self, study: optuna.Study, history: list[HistoryEntry]) -> bool:
        """True when the study holds exactly the state's history, all COMPLETE, in order."""
        from optuna.study import StudyDirection
        from optuna.trial import TrialState

        if study.directions != [StudyDirection.MAXIMIZE]:
            return False
        trials = study.get_trials(deepcopy=False)
        if len(trials) != len(history):
            return False
        dists = self.distributions()
        for trial, entry in zip(trials, history, strict=True):
            if (
                trial.state != TrialState.COMPLETE
                or trial.value != entry["accuracy"]
                or trial.distributions != dists
                or trial.params != self.trial_params(entry["macro"], entry["params"])
            ):
                return False
        return True

    def _rebuild(self, study: optuna.Study, history: list[HistoryEntry]) -> None:
        from optuna.trial import create_trial

        dists = self.distributions()
        study.add_trials(
            [
                create_trial(
                    params=self.trial_params(e["macro"], e["params"]),
                    distributions=dists,
                    value=e["accuracy"],
                )
                for e in history
            ]
        )

    # -- the strategy ------------------------------------------------------------------------

    def propose(self, state: SearchState) -> tuple[Candidate, SearchState]:
        import optuna

        state = copy_state(state)
        iteration = state["iteration"] + 1
        history = state["history"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=sampler_seed(int(state["seed"]), iteration),
                n_startup_trials=self.n_startup_trials,
                multivariate=self.multivariate,
            )
            with self._open_optuna_study(sampler) as study:
                in_sync = self._in_sync(study, history)
                if in_sync:
                    trial = study.ask(self.distributions())
            if not in_sync:
                with self._open_optuna_study(sampler, fresh=True) as study:
                    self._rebuild(study, history)
                    trial = study.ask(self.distributions())
        if trial.number != len(history):
            raise RuntimeError(f"optuna trial {trial.number}, expected {len(history)}")
        space = self.space
        macro, params = list(space.macro_initial), dict(space.initial)
        for p in space.features:
            value = trial.params[p.name]
            if p.type == BINARY:
                macro[MACRO_BITS.index(p.name)] = int(value)
            else:
                params[p.name] = value
        mutated = changes_from_initial(space, macro, params)
        return make_candidate(iteration, macro, params, mutated, trial=trial.number), state

    def observe(self, state: SearchState, candidate: Candidate, accuracy: float) -> SearchState:
        from optuna.trial import TrialState

        if not math.isfinite(accuracy):
            raise ValueError(f"optuna-tpe needs a finite accuracy, got {accuracy}")
        state = copy_state(state)
        number = candidate["trial"]
        with self._open_optuna_study() as study:
            trials = study.get_trials(deepcopy=False)
            # Anything else (a study replaced since the ask) is repaired by the next propose().
            if (
                number < len(trials)
                and trials[number].state == TrialState.RUNNING
                and trials[number].params
                == self.trial_params(candidate["macro"], candidate["params"])
            ):
                study.tell(number, accuracy)
        reward = accuracy - reward_baseline(state, accuracy, self.cfg.reward_baseline)
        return record(state, candidate, accuracy, reward, "last")


def optuna_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """The space as Optuna sees it: macro bits and discrete parameters categorical, continuous
    ones float (log for the learning rate). The study's importances use the same view."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    out: dict[str, BaseDistribution] = {}
    for p in space.features:
        if p.type == BINARY:
            out[p.name] = CategoricalDistribution([0, 1])
        elif p.type == CONTINUOUS:
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        else:
            out[p.name] = CategoricalDistribution(list(p.choices))
    return out


def optuna_trial_params(space: SearchSpace, macro: list[int], params: Params) -> Params:
    """A candidate as the params of an Optuna trial over :func:`optuna_distributions`."""
    return {p.name: space.value_of(p, macro, params) for p in space.features}
