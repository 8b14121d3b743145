"""The shapes of the JSON records the workflow writes and reads, as types.

A state file, a metrics file and the records inside them are plain JSON objects (they must
survive a job boundary, and people read them); these TypedDicts name their keys and value types
in one place, so that a function says which record it takes instead of ``dict[str, Any]``.
At run time they are ordinary dicts: typing them changes no file.

This module is on the ground floor (it imports nothing of the pipeline); every layer may use it.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# A parameter's value: a float for continuous parameters, an int for discrete ones
# (criterion_num, layer sizes, kernel_size).
Params = dict[str, float]

Action = Literal["+", "-"]


class Mutation(TypedDict):
    """What happened to one feature: its direction, and for a continuous parameter the
    unit-scale sample drawn."""

    action: Action
    sample: NotRequired[float]


Mutations = dict[str, Mutation]


class Point(TypedDict):
    """A point of the search space: the macro bits [p1, p2, p3] and the micro parameters."""

    macro: list[int]
    params: Params


class Candidate(TypedDict):
    """What a strategy proposes for one iteration."""

    iteration: int
    macro: list[int]
    model: int
    params: Params
    mutated: Mutations
    trial: NotRequired[int]  # optuna-tpe: the trial number in its study


class HistoryEntry(TypedDict):
    """An evaluated candidate in a state's history."""

    iteration: int
    model: int
    macro: list[int]
    params: Params
    mutated: Mutations
    accuracy: float
    reward: float


class MeanVar(TypedDict):
    """A continuous parameter's running mean and variance on the unit scale."""

    mean: float
    var: float


class SearchState(TypedDict):
    """A strategy's whole state after an iteration (the ``state`` of a state file).

    Every strategy has the first seven keys; the Q-table strategies add ``q_table``, ``stats``
    and, with ``search.q_update: mean``, ``q_counts``."""

    seed: int
    iteration: int
    current: Point
    best: HistoryEntry | None
    accuracies: list[float]
    history: list[HistoryEntry]
    rng: list
    q_table: NotRequired[dict[str, dict[str, float]]]
    q_counts: NotRequired[dict[str, dict[str, float]]]
    stats: NotRequired[dict[str, MeanVar]]


class Epoch(TypedDict):
    epoch: int
    train_loss: float
    val_acc: float
    test_acc: float | None  # only computed where validation improved
    seconds: float
    train_seconds: float


class TrainResult(TypedDict):
    """What training one candidate gives (a failure is a result with ``status: failed``)."""

    status: Literal["ok", "failed"]
    error: str | None
    error_class: str | None
    val_acc: float
    test_acc: float | None
    best_epoch: int | None
    n_params: int | None
    epochs: list[Epoch]
    device: NotRequired[str]
    seconds: NotRequired[float]
    peak_memory_mb: NotRequired[float]


class Score(TypedDict):
    """What the search learns from (``objective``) and the measured cost, if any."""

    objective: float
    cost: float | None


class MetricsSource(TypedDict):
    """Which search and experiment an iteration's metrics file belongs to."""

    version: int
    variant: str
    strategy: str
    dataset: str
    experiment: int


class CandidateRow(TypedDict):
    """A candidate as its metrics name it: ``mutated`` is the sorted names of the features
    mutated, without their actions."""

    iteration: int
    model: int
    macro: list[int]
    params: Params
    mutated: list[str]


class Metrics(MetricsSource, CandidateRow, TrainResult, Score):
    """An iteration's metrics file: where it belongs, the candidate, its training result and its
    score, then the job's seconds (the key order of the file is the order of the bases)."""

    job_seconds: float


class Evaluation(TypedDict):
    """A simulated evaluation of a candidate (hhnas.study.surrogate), in place of its training
    result: the keys of a ``TrainResult`` that hhnas.search.objective and the study read."""

    status: Literal["ok", "failed"]
    val_acc: float
    test_acc: float


class DatasetRow(TypedDict):
    """One line of a dataset's ``dataset.jsonl`` (hhnas.data.prepare): its row number, the
    question, the class index and the split."""

    id: int
    text: str
    label: int
    split: str


class DatabaseSchema(TypedDict):
    """A class's schema: the natural table and column names of its database(s)."""

    tables: list[str]
    columns: list[str]


class Classes(TypedDict):
    """A dataset's ``classes.json``: the labels in class-index order and each one's schema
    (None where there is none: a CSV dataset's classes)."""

    classes: list[str]
    schemas: list[DatabaseSchema | None]


class DatasetGroups(TypedDict):
    """A dataset's ``groups.json`` (hhnas.data.prepare): what its groups are ("query": Spider's
    SQL, normalised; "column:<name>": a CSV's group_column; None: it has none) and each row's
    group id, in dataset.jsonl order (0, 1, 2, ... by first appearance; None without groups).
    Rows of one group are paraphrases of one another; `data.split.group_by` keeps them in one
    part."""

    source: str | None
    groups: list[int] | None
