"""The error analysis' counts on a hand-made confusion (hhnas.reporting.errors)."""

import numpy as np
import pytest

from hhnas.reporting.errors import analyse_errors, error_analysis, normalise_text, pairs_csv

CLASSES = ["a", "b", "c", "d"]
# a and b: identical names; c shares 1 of 3 names with a (Jaccard 1/3); d shares none.
SCHEMAS = [
    {"tables": ["x", "y"], "columns": []},
    {"tables": ["X", "y"], "columns": []},
    {"tables": ["x", "z"], "columns": []},
    {"tables": ["w"], "columns": []},
]
RECORDS = [
    {"id": 0, "text": "how many x", "label": 0, "split": "train"},
    {"id": 1, "text": "How many  X ", "label": 1, "split": "train"},  # same text, class b
    {"id": 2, "text": "list y", "label": 0, "split": "test"},
    {"id": 3, "text": "list z", "label": 2, "split": "test"},
    {"id": 4, "text": "how many x", "label": 0, "split": "test"},
    {"id": 5, "text": "count w", "label": 3, "split": "test"},
    {"id": 6, "text": "show x", "label": 1, "split": "test"},
]
ROWS = np.array([2, 3, 4, 5, 6])
LABELS = np.array([0, 2, 0, 3, 1])
PROBS = np.array(
    [
        [0.30, 0.60, 0.05, 0.05],  # a predicted b: identical schemas
        [0.50, 0.30, 0.15, 0.05],  # c predicted a: Jaccard 1/3, unexplained; c third
        [0.40, 0.50, 0.05, 0.05],  # a predicted b: identical schemas and duplicate text
        [0.10, 0.10, 0.10, 0.70],  # right
        [0.10, 0.70, 0.10, 0.10],  # right
    ]
)


@pytest.fixture
def result():
    return analyse_errors(RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.5)


def test_text_is_compared_lower_case_with_spaces_collapsed():
    assert normalise_text("How many  X ") == normalise_text("how many x") == "how many x"


def test_counts_by_hand(result):
    assert result["rows"] == 5 and result["errors"] == 3
    assert (result["top1"], result["top3"], result["top5"]) == (0.4, 1.0, 1.0)
    assert result["duplicate_text"] == {"count": 1, "share_of_errors": 1 / 3}
    assert result["identical_schema"] == {"count": 2, "share_of_errors": 2 / 3}
    assert result["similar_schema"]["count"] == 2
    assert result["explained"]["count"] == 2
    # 2 right + 2 explained errors of 5
    assert result["ceiling"] == 0.8


def test_merged_accuracy_counts_a_prediction_inside_the_true_group(result):
    merged = {m["threshold"]: m for m in result["merged"]}
    assert set(merged) == {1.0, 0.5}
    # a and b merge at both thresholds (c is 1/3 from a): rows 2 and 4 become right
    assert merged[1.0]["accuracy"] == 0.8 and merged[0.5]["accuracy"] == 0.8
    assert merged[1.0]["classes_after_merge"] == 3
    assert merged[1.0]["classes_in_merged_groups"] == 2
    # at 1/3 c joins them too and every error is inside a group
    low = analyse_errors(RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.3)
    assert {m["threshold"]: m["accuracy"] for m in low["merged"]}[0.3] == 1.0
    assert low["similar_schema"]["count"] == 3 and low["ceiling"] == 1.0


def test_confused_pairs_both_directions(result):
    pairs = result["confused_pairs"]
    assert pairs[0] == {
        "class_a": "a",
        "class_b": "b",
        "errors": 2,
        "a_as_b": 2,
        "b_as_a": 0,
        "duplicate_text": 1,
        "schema_jaccard": 1.0,
    }
    assert pairs[1] == {
        "class_a": "a",
        "class_b": "c",
        "errors": 1,
        "a_as_b": 0,
        "b_as_a": 1,
        "duplicate_text": 0,
        "schema_jaccard": 0.3333,
    }
    assert len(pairs) == 2
    csv = pairs_csv(pairs).splitlines()
    assert csv[0] == "class_a,class_b,errors,a_as_b,b_as_a,duplicate_text,schema_jaccard"
    assert csv[1] == "a,b,2,2,0,1,1.0"


def test_without_schemas_nothing_counts_as_similar():
    r = analyse_errors(RECORDS, CLASSES, [None] * 4, PROBS, LABELS, ROWS, threshold=0.5)
    assert r["similar_schema"]["count"] == 0 and r["identical_schema"]["count"] == 0
    assert r["duplicate_text"]["count"] == 1
    assert all(m["accuracy"] == r["top1"] for m in r["merged"])


def test_both_splits_from_the_saved_probabilities():
    evaluation = {}
    for split in ("val", "test"):
        evaluation.update(
            {f"{split}_probs": PROBS, f"{split}_labels": LABELS, f"{split}_rows": ROWS}
        )
    out = error_analysis(RECORDS, {"classes": CLASSES, "schemas": SCHEMAS}, evaluation, 0.5, 1)
    assert set(out) == {"val", "test"} and len(out["test"]["confused_pairs"]) == 1


def test_extra_merge_thresholds_highest_first():
    r = analyse_errors(
        RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.5, merge_thresholds=[0.3, 0.5]
    )
    merged = [(m["threshold"], m["classes_after_merge"], m["accuracy"]) for m in r["merged"]]
    # 0.5 once; at 1/3 <= 0.3 a, b and c form one class: all five rows right
    assert merged == [(1.0, 3, 0.8), (0.5, 3, 0.8), (0.3, 2, 1.0)]
    # the ceiling and the shares still use `threshold`
    assert r["ceiling"] == 0.8 and r["similar_schema"]["count"] == 2


def test_verdict_and_table_are_written_from_the_counts():
    from hhnas.reporting.final_report import errors_table, verdict

    test = analyse_errors(
        RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.5, merge_thresholds=[0.3]
    )
    metrics = {"val": {"accuracy": 0.5}, "test": {"accuracy": 0.4}}
    text = " ".join(verdict("toy", metrics, {"test": test}, {"test": 97.78}, ["A measured note."]))
    assert "reaches 40.00 % test accuracy (50.00 % validation), 57.78 points below" in text
    # top-3 1.0: every one of the 3 errors has the right class second or third
    assert "top-3 accuracy is 100.00 %: 100.0 % of its errors" in text
    assert "Of its 3 test errors, 1 (33.3 %)" in text and "and 2 (66.7 %) confuse" in text
    assert "empirical ceiling of 80.00 %" in text
    # one error (c predicted a, Jaccard 1/3) is unexplained; the most confused pair (a / b,
    # identical names) is explained, so the pair named is a / c
    assert "The other 1 errors (33.3 %) confuse databases whose schemas differ" in text
    assert "most confused such pair, a / c: 1 errors, name Jaccard 0.33" in text
    assert "Jaccard >= 0.3, 2 classes, 100.00 %" in text
    assert text.endswith("A measured note.")
    table = errors_table({"test": test})
    row = table[table["Measure"].str.startswith("Accuracy with databases of Jaccard >= 0.3")]
    assert row["% (of errors, or accuracy)"].tolist() == [100.0]
