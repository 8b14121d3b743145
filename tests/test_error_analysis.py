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


# --- generalisation: questions with a same-group training question --------------------------

# Groups by row: 10 and 11 are trained on under class 0, 13 only under class 1 (row 2);
# group 12 occurs only in val and test, so a test question of it is new although a validation
# question shares its group; None shares nothing.
GEN_LABELS = [0, 0, 1, 0, 1, 0, 1, 1, 0]
GEN_SPLITS = ["train"] * 3 + ["val"] * 2 + ["test"] * 4
GEN_RECORDS = [
    {"id": i, "text": f"q{i}", "label": y, "split": s}
    for i, (y, s) in enumerate(zip(GEN_LABELS, GEN_SPLITS, strict=True))
]
GEN_GROUPS = [10, 11, 13, 10, 12, 11, 10, 12, None]
GEN_EVAL = {
    "val_rows": np.array([3, 4]),
    "val_labels": np.array([0, 1]),
    # row 3 right, row 4 wrong
    "val_probs": np.array([[0.9, 0.1], [0.8, 0.2]]),
    "test_rows": np.array([5, 6, 7, 8]),
    "test_labels": np.array([0, 1, 1, 0]),
    # rows 5, 7 and 8 right, row 6 wrong
    "test_probs": np.array([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.6, 0.4]]),
}


def test_generalisation_counts_by_hand():
    from hhnas.reporting.errors import generalisation

    g = generalisation(GEN_RECORDS, "query", GEN_GROUPS, GEN_EVAL)
    assert g["source"] == "query"
    # val: row 3 (group 10, class 0) seen and right; row 4 (group 12) new and wrong
    assert g["val"] == {
        "rows": 2,
        "seen": 1,
        "seen_share": 0.5,
        "seen_accuracy": 1.0,
        "new": 1,
        "new_accuracy": 0.0,
    }
    # test: row 5 (11, class 0, right) seen; new: row 6 (group 10 but class 1: trained only
    # under class 0; wrong), row 7 (12, right) and row 8 (None, right)
    assert g["test"] == {
        "rows": 4,
        "seen": 1,
        "seen_share": 0.25,
        "seen_accuracy": 1.0,
        "new": 3,
        "new_accuracy": 2 / 3,
    }


def test_generalisation_accuracy_over_no_question_is_null():
    from hhnas.reporting.errors import generalisation

    # every test question's (group, class) trained on: no new one; rows 5, 7, 8 of 4 right
    groups = [10, 11, 13, 10, 13, 11, 13, 13, 11]
    g = generalisation(GEN_RECORDS, "column:topic", groups, GEN_EVAL)["test"]
    assert (g["seen"], g["new"], g["new_accuracy"], g["seen_accuracy"]) == (4, 0, None, 0.75)


def test_generalisation_needs_a_group_per_row():
    from hhnas.reporting.errors import generalisation

    with pytest.raises(ValueError, match="8 groups for the 9 rows"):
        generalisation(GEN_RECORDS, "query", GEN_GROUPS[:-1], GEN_EVAL)


def test_error_analysis_adds_generalisation_only_with_groups():
    classes = {"classes": ["a", "b"], "schemas": [None, None]}
    without = error_analysis(GEN_RECORDS, classes, GEN_EVAL, 0.5, 5)
    assert "generalisation" not in without and without["test"]["has_schemas"] is False
    none = error_analysis(
        GEN_RECORDS, classes, GEN_EVAL, 0.5, 5, groups={"source": None, "groups": None}
    )
    assert "generalisation" not in none
    with_groups = error_analysis(
        GEN_RECORDS, classes, GEN_EVAL, 0.5, 5, groups={"source": "query", "groups": GEN_GROUPS}
    )
    assert with_groups["generalisation"]["test"]["new_accuracy"] == 2 / 3
    assert with_groups["generalisation"]["source"] == "query"


def test_generalisation_table_and_sentence():
    from hhnas.reporting.errors import generalisation
    from hhnas.reporting.final_report import generalisation_paragraph, generalisation_table

    spider = generalisation(GEN_RECORDS, "query", GEN_GROUPS, GEN_EVAL)
    table = generalisation_table(spider)
    assert table.columns.tolist() == [
        "Split",
        "Questions",
        "Same SQL query and database as a training question",
        "Share (%)",
        "Accuracy on those (%)",
        "New questions",
        "Accuracy on new (%)",
    ]
    assert table.iloc[1, 1:].tolist() == [4, 1, 25.0, 100.0, 3, 66.67]
    assert generalisation_paragraph(spider) == (
        "Of its 4 test questions, 1 (25.0 %) share their SQL query with a training question "
        "of their database. On the 3 test questions whose SQL query no training question of "
        "their database shares, it reaches 66.67 %; on the 1 paraphrases of a training "
        "question, 100.00 %."
    )
    csv = generalisation(GEN_RECORDS, "column:topic", GEN_GROUPS, GEN_EVAL)
    assert "Same group and label as a training question" in generalisation_table(csv).columns
    text = generalisation_paragraph(csv)
    assert "share their group (column topic) with a training question of their label" in text
    assert "whose group no training question of their label shares, it reaches 66.67 %" in text
    assert not [w for w in ("sql", "database", "schema") if w in text.lower()]
    # a split that keeps each group in one part: every test question new, 3 of 4 right
    apart = [10, 11, 13, 10, 12, 20, 21, 22, 23]
    assert generalisation_paragraph(
        generalisation(GEN_RECORDS, "column:topic", apart, GEN_EVAL)
    ) == (
        "None of its 4 test questions shares its group (column topic) with a training "
        "question of its label; on these new questions it reaches 75.00 %."
    )


# --- the report speaks each dataset's language -----------------------------------------------

BANNED = ("database", "schema", "jaccard")


def _metrics(**extra):
    split = {"rows": 5, "accuracy": 0.4, "top3_accuracy": 1.0, "per_class": []}
    member = {
        "model": 4,
        "experiment": 1,
        "iteration": 3,
        "params": {"learning_rate": 0.002},
        "search_val_acc": 0.5,
        "val_acc": 0.5,
        "test_acc": 0.4,
        "reproduced": True,
    }
    return {"val": dict(split, accuracy=0.5), "test": split, "members": [member], **extra}


def _words(frames, paragraphs) -> str:
    cells = [" ".join(map(str, [*df.columns, *df.astype(str).to_numpy().ravel()])) for df in frames]
    return " ".join(cells + paragraphs).lower()


def test_without_schemas_the_report_speaks_of_labels():
    from hhnas.reporting.final_report import errors_table, pairs_table, verdict

    test = analyse_errors(RECORDS, CLASSES, [None] * 4, PROBS, LABELS, ROWS, threshold=0.5)
    assert test["has_schemas"] is False
    errors = {"val": test, "test": test}
    table, pairs = errors_table(errors), pairs_table(errors)
    paragraphs = verdict("toy", _metrics(), errors, None, [])
    text = _words([table, pairs], paragraphs)
    assert not [w for w in BANNED if w in text]
    # top-1 40 %: no row but the top-1 row shows it; the ceiling counts the duplicate-text
    # error right: (2 right + 1) / 5
    pct = table["% (of errors, or accuracy)"]
    assert table.loc[pct == 40.0, "Measure"].tolist() == ["Top-1 accuracy (%)"]
    assert table["Measure"].tolist() == [
        "Test questions",
        "Errors (top-1)",
        "Top-1 accuracy (%)",
        "Top-3 accuracy (%)",
        "Top-5 accuracy (%)",
        "Errors whose question text also occurs under another label",
        "Empirical ceiling: accuracy with the duplicate-text errors counted right (%)",
    ]
    assert pct.tolist()[-1] == 60.0
    assert "Schema Jaccard" not in pairs.columns and pairs["Errors"].tolist() == [2, 1]
    joined = " ".join(paragraphs)
    assert (
        "Of its 3 test errors, 1 (33.3 %) are questions whose text also occurs under another "
        "label; counting them as right gives an empirical ceiling of 60.00 % for this split. "
        "The other 2 errors (66.7 %) confuse classes whose question texts differ (the most "
        "confused such pair, a / b: 2 errors)"
    ) in joined


def test_without_schemas_or_duplicates_no_row_repeats_the_accuracy():
    from hhnas.reporting.final_report import errors_table, verdict

    # row 4's text made unique: no error is explained, the ceiling would equal the accuracy
    records = [dict(r, text=f"q{r['id']}") for r in RECORDS]
    test = analyse_errors(records, CLASSES, [None] * 4, PROBS, LABELS, ROWS, threshold=0.5)
    assert test["ceiling"] == test["top1"] == 0.4
    errors = {"val": test, "test": test}
    table = errors_table(errors)
    pct = table["% (of errors, or accuracy)"]
    assert table.loc[pct == 40.0, "Measure"].tolist() == ["Top-1 accuracy (%)"]
    assert not table["Measure"].str.contains("ceiling").any()
    text = " ".join(verdict("toy", _metrics(), errors, None, []))
    assert (
        "None of its 3 test errors is a question whose text also occurs under another label: "
        "they confuse classes whose question texts differ (the most confused such pair, a / b: "
        "2 errors); no duplicate question explains them"
    ) in text
    assert "ceiling" not in text
    assert not [w for w in BANNED if w in text.lower()]


def test_with_schemas_the_schema_rows_stay():
    from hhnas.reporting.final_report import errors_table, pairs_table, verdict

    test = analyse_errors(RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.5)
    assert test["has_schemas"] is True
    errors = {"val": test, "test": test}
    measures = errors_table(errors)["Measure"].tolist()
    assert "Errors between databases with identical table and column names" in measures
    assert "Errors between databases with name Jaccard >= 0.5" in measures
    assert "Accuracy with databases of Jaccard >= 1 merged (3 classes) (%)" in measures
    assert measures[-1].startswith("Empirical ceiling")
    assert pairs_table(errors)["Schema Jaccard"].tolist() == [1.0, 0.3333]
    assert "confuse databases whose table and column names" in " ".join(
        verdict("toy", _metrics(), errors, None, [])
    )


def test_analysis_without_the_key_reads_as_with_schemas():
    from hhnas.reporting.final_report import pairs_table

    test = analyse_errors(RECORDS, CLASSES, SCHEMAS, PROBS, LABELS, ROWS, threshold=0.5)
    del test["has_schemas"]
    assert "Schema Jaccard" in pairs_table({"val": test, "test": test}).columns


# --- the final model: weights, the lexical member, greedy selection ---------------------------


def test_members_table_with_weights_and_the_lexical_member():
    from hhnas.reporting.final_report import final_model_title, members_table, verdict

    metrics = _metrics(
        method="greedy",
        lexical={"kind": "tfidf-lr", "C": 4.0, "val_acc": 0.3, "test_acc": 0.25, "weight": 0.25},
        selection={
            "rounds": 4,
            "pool": [
                {"name": n, "val_acc": 0.5, "test_acc": 0.4, "weight": w}
                for n, w in (("M4", 0.5), ("M2", 0.25), ("M1", 0.0), ("tfidf-lr", 0.25))
            ],
            "val_accuracy_by_round": [0.5, 0.55, 0.6, 0.6],
        },
    )
    second = dict(metrics["members"][0], model=2, iteration=7, weight=0.25)
    metrics["members"] = [dict(metrics["members"][0], weight=0.5), second]
    table = members_table(metrics)
    assert table["Weight"].tolist() == [0.5, 0.25, 0.25]
    lexical = table.iloc[-1]
    assert lexical["Model"] == "TF-IDF + logistic regression" and lexical["Parameters"] == "C=4"
    assert (lexical["Retrained val (%)"], lexical["Retrained test (%)"]) == (30.0, 25.0)
    assert pd_isna(lexical["Iter"]) and pd_isna(lexical["Search val (%)"])
    assert table["Iter"].tolist()[:2] == [3, 7]
    assert final_model_title("toy", metrics) == (
        "Final model (toy): weighted ensemble chosen on validation "
        "(greedy selection, Caruana et al. 2004)"
    )
    first = verdict("toy", metrics, {"val": _plain(), "test": _plain()}, None, [])[0]
    assert first.startswith(
        "On toy the final model, a weighted ensemble of 2 search candidates and TF-IDF + "
        "logistic regression, weights chosen on validation, reaches 40.00 % test accuracy "
        "(50.00 % validation)."
    )
    # 4 models in the pool, 4 rounds, 50 % after the first pick, 60 % after the last
    assert first.endswith(
        "Greedy selection over a pool of 4 models in 4 rounds took its validation accuracy "
        "from 50.00 % (the first pick alone) to 60.00 %."
    )


def test_members_table_of_an_older_run_weighs_members_equally():
    from hhnas.reporting.final_report import final_model_title, members_table, verdict

    metrics = _metrics()
    metrics["members"] = [metrics["members"][0], dict(metrics["members"][0], model=2)]
    table = members_table(metrics)
    assert table["Weight"].tolist() == [0.5, 0.5] and len(table) == 2
    assert final_model_title("toy", metrics).endswith(
        "the best 2 candidates retrained, probabilities averaged"
    )
    first = verdict("toy", metrics, {"val": _plain(), "test": _plain()}, None, [])[0]
    assert first.startswith(
        "On toy the final model, an equal-weight ensemble of the 2 best search candidates, reaches"
    )


def test_final_tables_show_generalisation_where_there_are_groups():
    from hhnas.reporting.captions import caption
    from hhnas.reporting.errors import generalisation
    from hhnas.reporting.final_report import final_tables, verdict

    errors = {"val": _plain(), "test": _plain()}
    titles = [t["title"] for t in final_tables("toy", _metrics(), errors)]
    assert "Paraphrased and new questions (toy)" not in titles
    errors["generalisation"] = generalisation(GEN_RECORDS, "query", GEN_GROUPS, GEN_EVAL)
    tables = {t["title"]: t for t in final_tables("toy", _metrics(), errors)}
    shown = tables["Paraphrased and new questions (toy)"]
    assert shown["caption"] == caption("generalisation", dataset="toy")
    assert "Same SQL query and database as a training question" in shown["html"]
    paragraphs = verdict("toy", _metrics(), errors, None, ["A note."])
    assert paragraphs[1].startswith("Of its 4 test questions, 1 (25.0 %) share their SQL query")
    assert paragraphs[-1] == "A note."


def _plain():
    return analyse_errors(RECORDS, CLASSES, [None] * 4, PROBS, LABELS, ROWS, threshold=0.5)


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
