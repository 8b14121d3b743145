"""The shapes of what the reporting computes, as types: the study's statistics and summary, the
conclusion, the error analysis, table rows and what the HTML report shows.

The records other packages write and the reporting reads are typed where they are written
(hhnas.records, or the writing package: hhnas.data.prepare.Counts, hhnas.study.jobs
.SurrogateStudy, ...); these are the reporting's own. At run time they are ordinary dicts:
the functions build them as before, key by key in the same order, so typing them changes no
file the reporting writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

if TYPE_CHECKING:
    from hhnas.study.surrogate import Fidelity

# Snakemake's named inputs as the adapters pass them: a path, or a list of paths (metrics_*,
# figures, own_*).
Inputs = dict[str, str | list[str]]

# --- statistics (hhnas.reporting.study_stats) ----------------------------------------------


class TTest(TypedDict):
    """The two-sided paired t test of mean(a - b) = 0 (``paired_t_test``)."""

    n: int
    mean_diff: float
    df: int
    t: float
    p: float


class Tost(TypedDict):
    """Schuirmann's two one-sided tests of |mean(a - b)| < margin (``tost_paired``)."""

    n: int
    mean_diff: float
    margin: float
    df: float
    t_lower: float
    t_upper: float
    p_lower: float
    p_upper: float
    p: float


class SignFlip(TypedDict):
    """The exact sign-flip test of mean(a - b) = 0 (``sign_flip_test``)."""

    n: int
    mean_diff: float
    p: float


class PairedComparison(TypedDict):
    """A variant minus a reference, run on the same seeds (``paired_comparison``), or combined
    across datasets (``combine_datasets``, which adds ``k``). The study adds the interval's
    ``level``; the conclusion adds the Holm-adjusted p's (hhnas.reporting.conclusion.adjust)."""

    n: int
    k: NotRequired[int]
    mean_diff: float
    sd_diff: float
    se: float
    ci_low: float
    ci_high: float
    d_z: float
    t: float
    df: float
    p: float
    margin: NotRequired[float]
    p_tost: NotRequired[float]
    level: NotRequired[float]
    p_holm: NotRequired[float]
    p_tost_holm: NotRequired[float]


# {source: {key: {key: comparison}}}: a source is a body of evidence ("surrogate", "real"); the
# two levels below it are dataset -> reference (hhnas.reporting.conclusion) or "variant vs
# reference" -> dataset (hhnas.reporting.study_conclusion), "overall" among the datasets.
Comparisons = dict[str, dict[str, dict[str, PairedComparison]]]

# --- the conclusion (hhnas.reporting.conclusion, study_conclusion) --------------------------


class Conclusion(TypedDict):
    """Outcomes ({source: {dataset: {reference: outcome}}}), one sentence per source and
    reference, and the text: the decision rule followed by the sentences."""

    outcomes: dict[str, dict[str, dict[str, str]]]
    sentences: list[str]
    text: str


class ConclusionSettings(TypedDict):
    """What rule study_conclusion passes (rules/common.smk, study_conclusion_params)."""

    variant: str
    reference: list[str]
    margin: float
    alpha: float
    level: float


class StudyConclusion(TypedDict):
    """results/study/conclusion.json."""

    variant: str
    reference: list[str]
    margin: float
    alpha: float
    level: float
    comparisons: Comparisons
    outcomes: dict[str, dict[str, dict[str, str]]]
    sentences: list[str]
    text: str


# --- the study's summary of one dataset (hhnas.reporting.study) ------------------------------


class ExperimentStats(TypedDict):
    """One experiment of a variant (hhnas.reporting.comparison.experiment_stats): fractions,
    counts and seconds, None where undefined."""

    iterations: int
    best_val: float | None
    test_at_best: float | None
    to_99: int | None
    failed: int
    wall: float | None
    model: int | None


class Experiment(ExperimentStats):
    """An experiment of the confirmatory runs, named by its number (its key comes first)."""

    experiment: int


class VariantStats(TypedDict):
    """A variant's per-experiment (or per-seed) best validation accuracy and the test accuracy
    of that candidate (in %, None where nothing succeeded), their means and t-intervals."""

    best_val: list[float | None]
    test_at_best: list[float | None]
    val_mean: float | None
    val_sd: float | None
    val_ci: list[float] | None
    test_mean: float | None
    test_ci: list[float] | None


class VariantSummary(VariantStats):
    """A variant of the confirmatory runs (with its ``experiments``) or of the surrogate
    benchmark (with its mean ``failed`` per seed), and its comparison with each reference (None
    below two pairs)."""

    experiments: NotRequired[list[Experiment]]
    failed: NotRequired[float | None]
    tests: dict[str, PairedComparison | None]


class OrderAgreement(TypedDict):
    """Does the surrogate, at the confirmatory runs' seeds, order the variants as they did?"""

    variants: list[str]
    real_order: list[str]
    surrogate_order: list[str]
    kendall_tau: float
    same_top: bool


class Sensitivity(TypedDict):
    """What the study can see: the noise floor's sds (in points) and the smallest differences
    they let a t test detect, at the confirmatory runs' n, at the surrogate's, and from the
    paired differences the runs observed ("variant vs reference")."""

    sd: float
    test_sd_top: float
    val_sd: float
    test_sd: float
    val_sd_best: float | None
    val_sd_random: float | None
    detectable_real: float
    detectable_surrogate: float
    observed: dict[str, float]


class RhoSummary(TypedDict):
    """A learning variant's Spearman rho between importance and mutation frequency: its mean
    over seeds and t-interval (None below two seeds)."""

    n: int
    mean_rho: float
    ci: list[float] | None


class QTableNumbers(TypedDict):
    """The Q-table analysis' raw numbers: rho per variant, and each learning variant's rho
    against random-mutation's, paired by seed."""

    per_variant: dict[str, RhoSummary]
    against_frozen: dict[str, PairedComparison]


class QTableSummary(QTableNumbers):
    importance: dict[str, float]


class ParetoFront(TypedDict):
    """A variant's Pareto front: [millions of trainable parameters, validation accuracy %]."""

    variant: str
    front: list[list[float]]


class StudySettings(TypedDict):
    """The study's settings a dataset's summary records (config `study`)."""

    reference: list[str]
    level: float
    margin: float
    alpha: float


class StudyParams(StudySettings):
    """What rule study_dataset passes as settings (rules/common.smk, study_params)."""

    bootstrap: int
    seed: int


class SurrogateSummary(TypedDict):
    """The surrogate benchmark in a dataset's summary."""

    variants: dict[str, VariantSummary]
    seeds: int
    iterations: int
    fidelity: Fidelity
    noise_sd: dict[str, float]
    order: OrderAgreement


class StudySummary(TypedDict):
    """results/study/<dataset>/summary.json: every number of one dataset's study."""

    dataset: str
    settings: StudySettings
    # A variant reading another's files -> the variant whose files it reads.
    aliases: dict[str, str]
    variants: dict[str, VariantSummary]
    surrogate: SurrogateSummary
    noise: Sensitivity
    qtable: QTableSummary
    pareto: list[ParetoFront]
    candidates: int


# --- the error analysis (hhnas.reporting.errors) ---------------------------------------------


class Share(TypedDict):
    count: int
    share_of_errors: float


class MergedAccuracy(TypedDict):
    """The accuracy with the classes of similar schemas (Jaccard >= threshold) merged."""

    threshold: float
    classes_in_merged_groups: int
    classes_after_merge: int
    accuracy: float


class ConfusedPair(TypedDict):
    """An unordered class pair by its errors in both directions (a row of pairs.csv)."""

    class_a: str
    class_b: str
    errors: int
    a_as_b: int
    b_as_a: int
    duplicate_text: int
    schema_jaccard: float


class SplitErrors(TypedDict):
    """The analysis of one split's predictions. ``has_schemas``: are the classes databases with
    schemas (absent in analyses written before it: read as true, what they showed)."""

    rows: int
    errors: int
    has_schemas: NotRequired[bool]
    top1: float
    top3: float
    top5: float
    threshold: float
    duplicate_text: Share
    identical_schema: Share
    similar_schema: Share
    explained: Share
    merged: list[MergedAccuracy]
    ceiling: float
    confused_pairs: list[ConfusedPair]


class GeneralisationSplit(TypedDict):
    """A split's questions with a same-group training question (seen) and without (new), and
    the final model's top-1 accuracy on each (None over no question)."""

    rows: int
    seen: int
    seen_share: float | None
    seen_accuracy: float | None
    new: int
    new_accuracy: float | None


class Generalisation(TypedDict):
    """``source``: what a group is (groups.json: "query", "column:<name>")."""

    source: str | None
    val: GeneralisationSplit
    test: GeneralisationSplit


class ErrorAnalysis(TypedDict):
    """A final model's errors.json; ``generalisation`` only where the dataset has groups."""

    val: SplitErrors
    test: SplitErrors
    generalisation: NotRequired[Generalisation]


# --- tables (hhnas.reporting.tables, comparison, study) -------------------------------------

# A table row whose every cell is a pre-formatted string, or None where missing.
Row = dict[str, str | None]


class BestCandidate(TypedDict):
    """The searched candidate with the highest validation accuracy (tables.best_candidate)."""

    dataset: str
    experiment: int
    iteration: int
    model: int
    val_acc: float
    test_acc: float
    val_acc_pct: float
    test_acc_pct: float


# --- the HTML report (hhnas.reporting.build, html) ------------------------------------------


class PaperFigures(TypedDict):
    """Validation and test accuracy in percent."""

    val: float
    test: float


class CitedBaseline(PaperFigures):
    name: str


class Reference(TypedDict):
    """Config `reference`: the numbers the paper reports or cites, shown beside the dataset in
    the spider role. Figures measured elsewhere are not here but in report/references.yaml,
    with their provenance (hhnas.reporting.references)."""

    cited_baseline: NotRequired[CitedBaseline]
    paper: NotRequired[PaperFigures]


class Choice(TypedDict):
    """A choice the paper left open, the value this run's config gives it, and why."""

    key: str
    value: Any  # whatever the config holds there (None where absent)
    reason: str


class DatasetEntry(TypedDict):
    """A dataset's sizes and notes; the split counts flat, or nested under ``splits``."""

    name: str
    n_classes: int
    n_rows: int
    train: NotRequired[int | None]
    val: NotRequired[int | None]
    test: NotRequired[int | None]
    splits: NotRequired[dict[str, int]]
    notes: list[str]


class Table(TypedDict):
    title: str
    caption: str
    html: str


class Figure(TypedDict):
    title: str
    caption: str
    data_uri: str


class Section(TypedDict):
    tables: list[Table]
    figures: list[Figure]


class StudySection(Section):
    """The study's part of a report: its tables and figures, the notes on each dataset and the
    generated conclusion's paragraphs."""

    notes: list[str]
    verdict: list[str]


class FailedCandidate(TypedDict):
    dataset: str
    experiment: int
    iteration: int
    model: int
    error: str | None


class Runtime(TypedDict):
    stage: str
    seconds: float


class ThreadCount(TypedDict):
    """Which jobs (and the config key that sets their threads), and how many threads."""

    jobs: str
    threads: int


class Provenance(TypedDict):
    """What made the numbers: the commit, the software, the config, the CPU
    (hhnas.machine.describe_cpu) and the jobs' thread counts."""

    title: str
    generated_at: str
    git_commit: str
    software: dict[str, str]
    config_yaml: str
    cpu: str
    threads: list[ThreadCount]


class ReportContext(TypedDict, total=False):
    """What report/template.html.j2 shows; a key left out renders as empty."""

    title: str
    generated_at: str
    git_commit: str
    software: dict[str, str]
    config_yaml: str
    cpu: str
    threads: list[ThreadCount]
    datasets: list[DatasetEntry]
    tables: list[Table]
    figures: list[Figure]
    choices: list[Choice]
    failed: list[FailedCandidate]
    runtimes: list[Runtime]
    notes: list[str]
    verdict: list[str]


class TemplateContext(ReportContext, total=False):
    """The context as the template reads it: the failed records' columns, the runtimes' total
    and the label that opens a reference's paragraph added."""

    failed_columns: list[str]
    reference_label: str
    runtime_total: float
