"""The report's final-model part: the retrained model's accuracy, its error analysis, and the
verdict that opens the report, all written from the measured files.

Each dataset is described in its own terms: where the classes are databases with schemas
(Spider) the tables and the verdict speak of databases and their name similarity; where they
are plain labels (a CSV) everything that only schemas could explain is left out, since it would
only repeat the accuracy.

The final model's metrics are read with ``.get`` for the keys later versions added (a member's
``weight``, ``method``, ``lexical``, ``selection``), so older runs still render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from hhnas.reporting.captions import caption
from hhnas.reporting.records import (
    ErrorAnalysis,
    Generalisation,
    GeneralisationSplit,
    PaperFigures,
    SplitErrors,
    Table,
)
from hhnas.reporting.tables import table_html

if TYPE_CHECKING:
    from hhnas.final.build import FinalMetrics

LEXICAL_NAME = "TF-IDF + logistic regression"
GREEDY = "greedy selection, Caruana et al. 2004"


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


def _pct_or_none(x: float | None) -> float | None:
    return None if x is None else _pct(x)


def _has_schemas(split: SplitErrors) -> bool:
    # Analyses written before the key always showed the schema rows.
    return bool(split.get("has_schemas", True))


def final_model_table(metrics: FinalMetrics) -> pd.DataFrame:
    """Validation and test: accuracy and top-3 of the final model."""
    return pd.DataFrame(
        {
            "Split": ["Validation", "Test"],
            "Rows": [metrics["val"]["rows"], metrics["test"]["rows"]],
            "Accuracy (%)": [_pct(metrics["val"]["accuracy"]), _pct(metrics["test"]["accuracy"])],
            "Top-3 accuracy (%)": [
                _pct(metrics["val"]["top3_accuracy"]),
                _pct(metrics["test"]["top3_accuracy"]),
            ],
        }
    )


def members_table(metrics: FinalMetrics) -> pd.DataFrame:
    """Each member: its provenance, its weight in the ensemble, the retraining's accuracy
    beside the search's; the TF-IDF + logistic-regression member, where there is one, last."""
    members = metrics["members"]
    lexical: Mapping[str, Any] | None = metrics.get("lexical")
    rows: list[dict[str, Any]] = []
    for m in members:
        rows.append(
            {
                "Model": f"M{m['model']}",
                "Exp": f"EXP{m['experiment']}",
                "Iter": m["iteration"],
                "Parameters": ", ".join(f"{k}={_short(v)}" for k, v in m["params"].items()),
                # Before members carried a weight, the k members were averaged equally.
                "Weight": float(m.get("weight", 1.0 / len(members))),
                "Search val (%)": _pct(m["search_val_acc"]),
                "Retrained val (%)": _pct(m["val_acc"]),
                "Retrained test (%)": _pct(m["test_acc"]),
                "Same as search": "yes" if m["reproduced"] else "NO",
            }
        )
    if lexical is not None:
        rows.append(
            {
                "Model": LEXICAL_NAME,
                "Exp": None,
                "Iter": None,
                "Parameters": f"C={_short(lexical['C'])}",
                "Weight": float(lexical["weight"]),
                "Search val (%)": None,
                "Retrained val (%)": _pct(lexical["val_acc"]),
                "Retrained test (%)": _pct(lexical["test_acc"]),
                "Same as search": None,
            }
        )
    df = pd.DataFrame(rows)
    if len(df):
        # Integers stay integers beside the lexical member's empty cell.
        df["Iter"] = pd.array(df["Iter"].tolist(), dtype="Int64")
    return df


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def final_model_title(name: str, metrics: FinalMetrics) -> str:
    if metrics.get("method") == "greedy":
        return f"Final model ({name}): weighted ensemble chosen on validation ({GREEDY})"
    k = len(metrics["members"])
    if k > 1:
        return f"Final model ({name}): the best {k} candidates retrained, probabilities averaged"
    return f"Final model ({name}): the best candidate retrained and saved"


def describe_model(metrics: FinalMetrics) -> str:
    """What the final model is, as a noun phrase ("" where metrics name no member)."""
    members = metrics.get("members", [])
    k = len(members)
    lexical = metrics.get("lexical") is not None
    if k == 0 and not lexical:
        return ""
    tuned = ", its encoder fine-tuned" if any(m.get("finetuned") for m in members) else ""
    lex = f" and {LEXICAL_NAME}" if lexical else ""
    if metrics.get("method") == "greedy":
        if k == 1 and not lexical:
            return f"the one search candidate that greedy selection on validation kept{tuned}"
        cands = "one search candidate" if k == 1 else f"{k} search candidates"
        return f"a weighted ensemble of {cands}{lex}, weights chosen on validation{tuned}"
    if k == 1 and not lexical:
        return f"the best search candidate retrained{tuned}"
    cands = "the best search candidate" if k == 1 else f"the {k} best search candidates"
    return f"an equal-weight ensemble of {cands}{lex}"


def _selection_sentence(metrics: FinalMetrics) -> str:
    selection: Mapping[str, Any] | None = metrics.get("selection")
    by_round = list((selection or {}).get("val_accuracy_by_round") or [])
    if not by_round:
        return ""
    assert selection is not None
    return (
        f" Greedy selection over a pool of {len(selection.get('pool') or [])} models in "
        f"{selection['rounds']} rounds took its validation accuracy from "
        f"{_pct(by_round[0]):.2f} % (the first pick alone) to {_pct(by_round[-1]):.2f} %."
    )


def errors_table(errors: ErrorAnalysis) -> pd.DataFrame:
    """What the test errors are, and what accuracy the data allows. Without schemas the rows
    only schemas fill are left out, and so is the ceiling where it equals the accuracy."""
    t = errors["test"]
    n = t["rows"]
    thr = t["threshold"]
    schemas = _has_schemas(t)
    other = "class" if schemas else "label"
    rows: list[tuple[str, int | None, float | None]] = [
        ("Test questions", n, None),
        ("Errors (top-1)", t["errors"], None),
        ("Top-1 accuracy (%)", None, _pct(t["top1"])),
        ("Top-3 accuracy (%)", None, _pct(t["top3"])),
        ("Top-5 accuracy (%)", None, _pct(t["top5"])),
        (
            f"Errors whose question text also occurs under another {other}",
            t["duplicate_text"]["count"],
            _pct(t["duplicate_text"]["share_of_errors"]),
        ),
    ]
    if schemas:
        rows += [
            (
                "Errors between databases with identical table and column names",
                t["identical_schema"]["count"],
                _pct(t["identical_schema"]["share_of_errors"]),
            ),
            (
                f"Errors between databases with name Jaccard >= {thr:g}",
                t["similar_schema"]["count"],
                _pct(t["similar_schema"]["share_of_errors"]),
            ),
            (
                "Errors explained by either (duplicate text or Jaccard >= threshold)",
                t["explained"]["count"],
                _pct(t["explained"]["share_of_errors"]),
            ),
        ]
        for m in t["merged"]:
            rows.append(
                (
                    f"Accuracy with databases of Jaccard >= {m['threshold']:g} merged "
                    f"({m['classes_after_merge']} classes) (%)",
                    None,
                    _pct(m["accuracy"]),
                )
            )
        rows.append(
            (
                "Empirical ceiling: accuracy with the explained errors counted right (%)",
                None,
                _pct(t["ceiling"]),
            )
        )
    elif t["explained"]["count"]:
        rows.append(
            (
                "Empirical ceiling: accuracy with the duplicate-text errors counted right (%)",
                None,
                _pct(t["ceiling"]),
            )
        )
    return pd.DataFrame(
        {
            "Measure": [r[0] for r in rows],
            "Count": pd.array([r[1] for r in rows], dtype="Int64"),
            "% (of errors, or accuracy)": [r[2] for r in rows],
        }
    )


def pairs_table(errors: ErrorAnalysis) -> pd.DataFrame:
    pairs = errors["test"]["confused_pairs"]
    columns: dict[str, list[Any]] = {
        "Class A": [p["class_a"] for p in pairs],
        "Class B": [p["class_b"] for p in pairs],
        "Errors": [p["errors"] for p in pairs],
        "A as B": [p["a_as_b"] for p in pairs],
        "B as A": [p["b_as_a"] for p in pairs],
        "Duplicate text": [p["duplicate_text"] for p in pairs],
    }
    if _has_schemas(errors["test"]):
        columns["Schema Jaccard"] = [float(p["schema_jaccard"]) for p in pairs]
    return pd.DataFrame(columns)


def _group_word(source: str | None) -> str:
    return "SQL query" if source == "query" else "group"


def _class_word(source: str | None) -> str:
    # Groups by SQL query are Spider's, whose classes are databases; a CSV's are labels.
    return "database" if source == "query" else "label"


def generalisation_table(gen: Generalisation) -> pd.DataFrame:
    """Validation and test: the questions with a same-group training question, and the
    accuracy on those and on the rest."""
    word, cls = _group_word(gen["source"]), _class_word(gen["source"])
    splits: Sequence[tuple[str, GeneralisationSplit]] = (
        ("Validation", gen["val"]),
        ("Test", gen["test"]),
    )
    return pd.DataFrame(
        {
            "Split": [label for label, _ in splits],
            "Questions": [s["rows"] for _, s in splits],
            f"Same {word} and {cls} as a training question": [s["seen"] for _, s in splits],
            "Share (%)": [_pct_or_none(s["seen_share"]) for _, s in splits],
            "Accuracy on those (%)": [_pct_or_none(s["seen_accuracy"]) for _, s in splits],
            "New questions": [s["new"] for _, s in splits],
            "Accuracy on new (%)": [_pct_or_none(s["new_accuracy"]) for _, s in splits],
        }
    )


def final_tables(name: str, metrics: FinalMetrics, errors: ErrorAnalysis) -> list[Table]:
    tables: list[Table] = [
        {
            "title": final_model_title(name, metrics),
            "caption": caption("final_model", dataset=name),
            "html": table_html(final_model_table(metrics)) + table_html(members_table(metrics)),
        }
    ]
    if "generalisation" in errors:
        tables.append(
            {
                "title": f"Paraphrased and new questions ({name})",
                "caption": caption("generalisation", dataset=name),
                "html": table_html(generalisation_table(errors["generalisation"])),
            }
        )
    tables += [
        {
            "title": f"Error analysis of the final model ({name}, test split)",
            "caption": caption("error_analysis", dataset=name),
            "html": table_html(errors_table(errors)),
        },
        {
            "title": f"Most confused class pairs ({name}, test split)",
            "caption": caption("confused_pairs", dataset=name),
            "html": table_html(pairs_table(errors)),
        },
    ]
    return tables


def generalisation_paragraph(gen: Generalisation) -> str:
    """The test split's new questions and paraphrases, in a paragraph of the verdict."""
    t = gen["test"]
    word, cls = _group_word(gen["source"]), _class_word(gen["source"])
    if gen["source"] == "query":
        what, seen_what = "SQL query", "paraphrases of a training question"
    else:
        column = (gen["source"] or "").removeprefix("column:")
        what = f"group (column {column})" if column else "group"
        seen_what = "that share one"
    n, seen, new = t["rows"], t["seen"], t["new"]
    if not n:
        return ""
    if not seen:
        return (
            f"None of its {n} test questions shares its {what} with a training question of "
            f"its {cls}; on these new questions it reaches {_pct(t['new_accuracy']):.2f} %."
        )
    share = f"{_pct(t['seen_share'] or 0.0):.1f}"
    opening = (
        f"Of its {n} test questions, {seen} ({share} %) share their {what} with a training "
        f"question of their {cls}."
    )
    if not new:
        return (
            f"{opening} No test question is new in this sense, so this split does not measure "
            f"generalisation to a new {word}; on the paraphrases it reaches "
            f"{_pct(t['seen_accuracy']):.2f} %."
        )
    return (
        f"{opening} On the {new} test questions whose {word} no training question of their "
        f"{cls} shares, it reaches {_pct(t['new_accuracy']):.2f} %; on the {seen} {seen_what}, "
        f"{_pct(t['seen_accuracy']):.2f} %."
    )


def _errors_with_schemas(test: SplitErrors) -> str:
    e = test["errors"]
    dup, sim = test["duplicate_text"], test["similar_schema"]
    unexplained = e - test["explained"]["count"]
    # The most confused pair among those the schemas do not explain.
    pairs = [p for p in test["confused_pairs"] if float(p["schema_jaccard"]) < test["threshold"]]
    top_pair = (
        f" (the most confused such pair, {pairs[0]['class_a']} / {pairs[0]['class_b']}: "
        f"{pairs[0]['errors']} errors, name Jaccard {float(pairs[0]['schema_jaccard']):.2f})"
        if pairs
        else ""
    )
    return (
        f"Of its {e} test errors, {dup['count']} ({_pct(dup['share_of_errors']):.1f} %) are "
        f"questions whose text also occurs under another class, and {sim['count']} "
        f"({_pct(sim['share_of_errors']):.1f} %) confuse databases whose table and column "
        f"names have Jaccard similarity >= {test['threshold']:g}. Counting those errors as "
        f"right gives an empirical ceiling of {_pct(test['ceiling']):.2f} % for this split. "
        f"The other {unexplained} errors ({_pct(unexplained / e):.1f} %) "
        f"confuse databases whose schemas differ{top_pair}: neither a duplicate question nor "
        "a shared schema explains them, so this analysis does not show that the data forbids "
        "getting them right. Accuracy with the databases of similar names merged into one "
        "class: "
        + "; ".join(
            f"Jaccard >= {m['threshold']:g}, {m['classes_after_merge']} classes, "
            f"{_pct(m['accuracy']):.2f} %"
            for m in test["merged"]
        )
        + "."
    )


def _errors_without_schemas(test: SplitErrors) -> str:
    e = test["errors"]
    dup = test["duplicate_text"]
    unexplained = e - test["explained"]["count"]
    # The most confused pair with an error that a duplicate question does not explain.
    pairs = [p for p in test["confused_pairs"] if p["duplicate_text"] < p["errors"]]
    top_pair = (
        f" (the most confused such pair, {pairs[0]['class_a']} / {pairs[0]['class_b']}: "
        f"{pairs[0]['errors']} errors)"
        if pairs
        else ""
    )
    rest = (
        "no duplicate question explains them, so this analysis does not show that the data "
        "forbids getting them right."
    )
    if not dup["count"]:
        return (
            f"None of its {e} test errors is a question whose text also occurs under another "
            f"label: they confuse classes whose question texts differ{top_pair}; {rest}"
        )
    out = (
        f"Of its {e} test errors, {dup['count']} ({_pct(dup['share_of_errors']):.1f} %) are "
        "questions whose text also occurs under another label; counting them as right gives "
        f"an empirical ceiling of {_pct(test['ceiling']):.2f} % for this split."
    )
    if unexplained:
        out += (
            f" The other {unexplained} errors ({_pct(unexplained / e):.1f} %) confuse classes "
            f"whose question texts differ{top_pair}: {rest}"
        )
    return out


def verdict(
    name: str,
    metrics: FinalMetrics,
    errors: ErrorAnalysis,
    paper: PaperFigures | None,
    notes: list[str],
) -> list[str]:
    """The report's opening paragraphs for the dataset in the spider role (or the first one):
    what the final model is, how close it came to the paper, how it does on questions unlike
    any it trained on, and what the error analysis says about why not closer. ``paper``: the
    paper's Table 2 figures in percent; ``notes``: ready-made paragraphs from elsewhere (config
    reference.verdict, the report's other measured facts), appended as given."""
    test = errors["test"]
    acc, top3 = _pct(metrics["test"]["accuracy"]), _pct(test["top3"])
    # Of the errors, the share whose class is the model's second or third choice.
    near = (test["top3"] - test["top1"]) / (1 - test["top1"]) if test["top1"] < 1 else 0.0
    ranked = (
        f"Its top-3 accuracy is {top3:.2f} %: {_pct(near):.1f} % of its errors have the right "
        "class as its second or third choice."
    )
    what = describe_model(metrics)
    subject = f"the final model, {what}," if what else "the final model"
    opening = (
        f"On {name} {subject} reaches {acc:.2f} % test accuracy "
        f"({_pct(metrics['val']['accuracy']):.2f} % validation)"
    )
    if paper is not None:
        gap = round(float(paper["test"]) - acc, 2)
        opening += f", {gap:.2f} points below the paper's {float(paper['test']):.2f} %"
    out = [opening + ". " + ranked + _selection_sentence(metrics)]
    if "generalisation" in errors:
        paragraph = generalisation_paragraph(errors["generalisation"])
        if paragraph:
            out.append(paragraph)
    if not test["errors"]:
        out.append("It makes no test errors.")
    elif _has_schemas(test):
        out.append(_errors_with_schemas(test))
    else:
        out.append(_errors_without_schemas(test))
    out += notes
    return out
