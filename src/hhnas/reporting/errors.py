"""Error analysis of a final model: where its test errors come from, and how much accuracy the
data allows.

For every test error (true class a, predicted b) it asks two questions about the data rather
than the model:

* **duplicate text**: does the same question text (lower-cased, whitespace collapsed) occur
  anywhere in the dataset under a class other than a? Then no classifier that reads only the
  text can get every copy right.
* **similar schemas**: are a's and b's schemas identical, or nearly (Jaccard similarity of
  their table and column names >= the threshold, hhnas.data.schemas)? Then the question may
  fit both databases.

From these: the most confused pairs, the share of errors each explains, top-1/3/5 accuracy, the
accuracy if the classes grouped by schema similarity were merged (a prediction within the true
class's group counts as right), and an empirical ceiling: the accuracy with every error that
one of the two explains counted as right. A dataset without schemas (a CSV's plain labels)
records ``has_schemas: false``; the report then leaves out what only schemas could explain.

**Generalisation**: where the dataset groups its questions (results/<dataset>/data/groups.json:
Spider's normalised SQL query, a CSV's group column), a validation or test question is *seen*
when a training question of its class shares its group (a paraphrase of a question trained on)
and *new* otherwise; the accuracy on the two tells memorised phrasing from generalisation.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from hhnas.data.schemas import similar_groups, similarity_matrix
from hhnas.records import Classes, DatabaseSchema, DatasetGroups, DatasetRow
from hhnas.reporting.records import (
    ConfusedPair,
    ErrorAnalysis,
    Generalisation,
    GeneralisationSplit,
    MergedAccuracy,
    Share,
    SplitErrors,
)

_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _SPACES.sub(" ", str(text).lower()).strip()


def topk_hits(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per row: is the label among the ``k`` most probable classes (ties to the lower index)."""
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return (order == np.asarray(labels)[:, None]).any(axis=1)


def texts_by_class(records: Sequence[DatasetRow]) -> dict[str, set[int]]:
    """Normalised text -> the classes it occurs under, over every split."""
    out: dict[str, set[int]] = defaultdict(set)
    for r in records:
        out[normalise_text(r["text"])].add(int(r["label"]))
    return out


def has_schemas(schemas: Sequence[DatabaseSchema | None]) -> bool:
    """Are the classes databases with schemas (Spider), not plain labels (a CSV)?"""
    return any(s is not None for s in schemas)


def merged_accuracy(pred: np.ndarray, labels: np.ndarray, groups: Sequence[int]) -> float:
    g = np.asarray(groups)
    return float((g[pred] == g[labels]).mean()) if len(labels) else float("nan")


def analyse_errors(
    records: Sequence[DatasetRow],
    class_names: Sequence[str],
    schemas: Sequence[DatabaseSchema | None],
    probs: np.ndarray,
    labels: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    top_pairs: int = 15,
    merge_thresholds: Sequence[float] = (),
) -> SplitErrors:
    """The analysis of one split's predictions; ``rows`` index ``records`` (the dataset's rows
    in dataset.jsonl order), ``labels`` are the true classes of those rows. The merged accuracy
    is given at Jaccard 1 (identical names), at ``threshold`` and at each ``merge_thresholds``,
    highest first."""
    labels = np.asarray(labels, dtype=np.int64)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    sim = similarity_matrix(schemas)
    where = texts_by_class(records)
    dup = np.array(
        [
            bool(where[normalise_text(records[int(rows[i])]["text"])] - {int(labels[i])})
            for i in wrong
        ],
        dtype=bool,
    )
    pair_sim = sim[labels[wrong], pred[wrong]] if len(wrong) else np.zeros(0)
    identical = pair_sim >= 1.0
    similar = pair_sim >= threshold
    explained = dup | similar
    n, e = len(labels), len(wrong)

    def share(mask: np.ndarray) -> Share:
        count = int(mask.sum())
        return {"count": count, "share_of_errors": count / e if e else 0.0}

    groups = {
        t: similar_groups(sim, t) for t in sorted({1.0, threshold, *merge_thresholds}, reverse=True)
    }
    merged: list[MergedAccuracy] = []
    for t, g in groups.items():
        sizes = Counter(g)
        merged.append(
            {
                "threshold": t,
                "classes_in_merged_groups": sum(s for s in sizes.values() if s > 1),
                "classes_after_merge": len(sizes),
                "accuracy": merged_accuracy(pred, labels, g),
            }
        )

    def top(k: int) -> float:
        return float(topk_hits(probs, labels, k).mean()) if n else float("nan")

    return {
        "rows": n,
        "errors": e,
        "has_schemas": has_schemas(schemas),
        "top1": top(1),
        "top3": top(3),
        "top5": top(5),
        "threshold": threshold,
        "duplicate_text": share(dup),
        "identical_schema": share(identical),
        "similar_schema": share(similar),
        "explained": share(explained),
        "merged": merged,
        "ceiling": (n - e + int(explained.sum())) / n if n else float("nan"),
        "confused_pairs": confused_pairs(
            labels[wrong], pred[wrong], dup, class_names, sim, top_pairs
        ),
    }


def confused_pairs(
    true: np.ndarray,
    pred: np.ndarray,
    duplicate: np.ndarray,
    class_names: Sequence[str],
    similarity: np.ndarray,
    top: int,
) -> list[ConfusedPair]:
    """Unordered class pairs by their errors in both directions, most first (ties: by name)."""
    counts: Counter[tuple[int, int]] = Counter()
    dups: Counter[tuple[int, int]] = Counter()
    direction: Counter[tuple[int, int]] = Counter()
    for a, b, d in zip(true.tolist(), pred.tolist(), duplicate.tolist(), strict=True):
        key = (min(a, b), max(a, b))
        counts[key] += 1
        dups[key] += int(d)
        direction[(a, b)] += 1
    ranked = sorted(counts, key=lambda k: (-counts[k], class_names[k[0]], class_names[k[1]]))
    return [
        {
            "class_a": class_names[a],
            "class_b": class_names[b],
            "errors": counts[(a, b)],
            "a_as_b": direction[(a, b)],
            "b_as_a": direction[(b, a)],
            "duplicate_text": dups[(a, b)],
            "schema_jaccard": round(float(similarity[a, b]), 4),
        }
        for a, b in ranked[:top]
    ]


def generalisation_split(
    trained: set[tuple[int, int]],
    groups: Sequence[int | None],
    probs: np.ndarray,
    labels: np.ndarray,
    rows: np.ndarray,
) -> GeneralisationSplit:
    """One split's questions with a training question of the same group and class (seen) and
    without (new), and the top-1 accuracy on each; ``trained``: the (group, class) pairs of
    the training split. An accuracy over no question is None (JSON null, where a NaN would not
    be valid JSON). A row without a group (None) shares none: it is new."""
    labels = np.asarray(labels)
    right = probs.argmax(axis=1) == labels
    seen = np.array(
        [(groups[int(r)], int(y)) in trained for r, y in zip(rows, labels, strict=True)],
        dtype=bool,
    )
    n, k = len(seen), int(seen.sum())

    def accuracy(mask: np.ndarray) -> float | None:
        return float(right[mask].mean()) if mask.any() else None

    return {
        "rows": n,
        "seen": k,
        "seen_share": k / n if n else None,
        "seen_accuracy": accuracy(seen),
        "new": n - k,
        "new_accuracy": accuracy(~seen),
    }


def generalisation(
    records: Sequence[DatasetRow],
    source: str | None,
    groups: Sequence[int | None],
    evaluation: dict[str, np.ndarray],
) -> Generalisation:
    """Seen and new questions of the validation and test splits; ``groups``: a group id per
    row of ``records`` (groups.json's ``groups``), ``source`` what the id stands for.

    Seen needs the training question's class too: a Spider SQL query trained on only under
    another database ("SELECT count(*) FROM customers" is asked of several) teaches the
    question's wording, not its class, so the question counts as new."""
    if len(groups) != len(records):
        raise ValueError(
            f"groups.json has {len(groups)} groups for the {len(records)} rows of "
            "dataset.jsonl: it is stale; delete it to recompute it"
        )
    trained = {
        (g, int(r["label"]))
        for r, g in zip(records, groups, strict=True)
        if r["split"] == "train" and g is not None
    }

    def split(name: str) -> GeneralisationSplit:
        return generalisation_split(
            trained,
            groups,
            evaluation[f"{name}_probs"],
            evaluation[f"{name}_labels"],
            evaluation[f"{name}_rows"],
        )

    return {"source": source, "val": split("val"), "test": split("test")}


def error_analysis(
    records: Sequence[DatasetRow],
    classes: Classes,
    evaluation: dict[str, np.ndarray],
    threshold: float,
    top_pairs: int,
    merge_thresholds: Sequence[float] = (),
    groups: DatasetGroups | None = None,
) -> ErrorAnalysis:
    """Validation and test analyses from the final model's probabilities (final_probabilities
    .npz: ``<split>_probs``, ``<split>_labels``, ``<split>_rows``), and their generalisation
    where the dataset has groups (groups.json)."""

    def analyse(split: str) -> SplitErrors:
        return analyse_errors(
            records,
            classes["classes"],
            classes["schemas"],
            evaluation[f"{split}_probs"],
            evaluation[f"{split}_labels"],
            evaluation[f"{split}_rows"],
            threshold,
            top_pairs,
            merge_thresholds,
        )

    out: ErrorAnalysis = {"val": analyse("val"), "test": analyse("test")}
    if groups is not None and groups["groups"] is not None:
        out["generalisation"] = generalisation(
            records, groups["source"], groups["groups"], evaluation
        )
    return out


PAIR_COLUMNS = (
    "class_a",
    "class_b",
    "errors",
    "a_as_b",
    "b_as_a",
    "duplicate_text",
    "schema_jaccard",
)


def pairs_csv(pairs: Sequence[ConfusedPair]) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=PAIR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(pairs)
    return buf.getvalue()
