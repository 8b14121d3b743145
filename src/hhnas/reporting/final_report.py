"""The report's final-model part: the retrained model's accuracy, its error analysis, and the
verdict that opens the report, all written from the measured files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from hhnas.reporting.captions import caption
from hhnas.reporting.records import ErrorAnalysis, PaperFigures, Table
from hhnas.reporting.tables import table_html

if TYPE_CHECKING:
    from hhnas.final.build import FinalMetrics


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


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
    rows = []
    for m in metrics["members"]:
        params = m["params"]
        rows.append(
            {
                "Model": f"M{m['model']}",
                "Exp": f"EXP{m['experiment']}",
                "Iter": m["iteration"],
                "Parameters": ", ".join(f"{k}={_short(v)}" for k, v in params.items()),
                "Search val (%)": _pct(m["search_val_acc"]),
                "Retrained val (%)": _pct(m["val_acc"]),
                "Retrained test (%)": _pct(m["test_acc"]),
                "Same as search": "yes" if m["reproduced"] else "NO",
            }
        )
    return pd.DataFrame(rows)


def _short(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def errors_table(errors: ErrorAnalysis) -> pd.DataFrame:
    """What the test errors are, and what accuracy the data allows."""
    t = errors["test"]
    n = t["rows"]
    thr = t["threshold"]
    rows = [
        ("Test questions", n, None),
        ("Errors (top-1)", t["errors"], None),
        ("Top-1 accuracy (%)", None, _pct(t["top1"])),
        ("Top-3 accuracy (%)", None, _pct(t["top3"])),
        ("Top-5 accuracy (%)", None, _pct(t["top5"])),
        (
            "Errors whose question text also occurs under another class",
            t["duplicate_text"]["count"],
            _pct(t["duplicate_text"]["share_of_errors"]),
        ),
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
    return pd.DataFrame(
        {
            "Measure": [r[0] for r in rows],
            "Count": pd.array([r[1] for r in rows], dtype="Int64"),
            "% (of errors, or accuracy)": [r[2] for r in rows],
        }
    )


def pairs_table(errors: ErrorAnalysis) -> pd.DataFrame:
    pairs = errors["test"]["confused_pairs"]
    return pd.DataFrame(
        {
            "Class A": [p["class_a"] for p in pairs],
            "Class B": [p["class_b"] for p in pairs],
            "Errors": [p["errors"] for p in pairs],
            "A as B": [p["a_as_b"] for p in pairs],
            "B as A": [p["b_as_a"] for p in pairs],
            "Duplicate text": [p["duplicate_text"] for p in pairs],
            "Schema Jaccard": [float(p["schema_jaccard"]) for p in pairs],
        }
    )


def final_tables(name: str, metrics: FinalMetrics, errors: ErrorAnalysis) -> list[Table]:
    return [
        {
            "title": f"Final model ({name}): the best candidate retrained and saved",
            "caption": caption("final_model", dataset=name),
            "html": table_html(final_model_table(metrics)) + table_html(members_table(metrics)),
        },
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


def verdict(
    name: str,
    metrics: FinalMetrics,
    errors: ErrorAnalysis,
    paper: PaperFigures | None,
    notes: list[str],
) -> list[str]:
    """The report's opening paragraphs for the dataset in the spider role (or the first one):
    how close the final model came to the paper, and what the error analysis says about why
    not closer. ``paper``: the paper's Table 2 figures in percent; ``notes``: measured facts
    from elsewhere (config reference.verdict)."""
    test = errors["test"]
    acc, top3 = _pct(metrics["test"]["accuracy"]), _pct(test["top3"])
    e = test["errors"]
    dup, sim = test["duplicate_text"], test["similar_schema"]
    # Of the errors, the share whose class is the model's second or third choice.
    near = (test["top3"] - test["top1"]) / (1 - test["top1"]) if test["top1"] < 1 else 0.0
    ranked = (
        f"Its top-3 accuracy is {top3:.2f} %: {_pct(near):.1f} % of its errors have the right "
        "class as its second or third choice."
    )
    out = []
    if paper is not None:
        gap = round(float(paper["test"]) - acc, 2)
        out.append(
            f"On {name} the final model reaches {acc:.2f} % test accuracy "
            f"({_pct(metrics['val']['accuracy']):.2f} % validation), {gap:.2f} points below the "
            f"paper's {float(paper['test']):.2f} %. " + ranked
        )
    else:
        out.append(
            f"On {name} the final model reaches {acc:.2f} % test accuracy "
            f"({_pct(metrics['val']['accuracy']):.2f} % validation). " + ranked
        )
    unexplained = e - test["explained"]["count"]
    # The most confused pair among those the schemas do not explain.
    pairs = [p for p in test["confused_pairs"] if float(p["schema_jaccard"]) < test["threshold"]]
    top_pair = (
        f" (the most confused such pair, {pairs[0]['class_a']} / {pairs[0]['class_b']}: "
        f"{pairs[0]['errors']} errors, name Jaccard {float(pairs[0]['schema_jaccard']):.2f})"
        if pairs
        else ""
    )
    out.append(
        f"Of its {e} test errors, {dup['count']} ({_pct(dup['share_of_errors']):.1f} %) are "
        f"questions whose text also occurs under another class, and {sim['count']} "
        f"({_pct(sim['share_of_errors']):.1f} %) confuse databases whose table and column "
        f"names have Jaccard similarity >= {test['threshold']:g}. Counting those errors as "
        f"right gives an empirical ceiling of {_pct(test['ceiling']):.2f} % for this split. "
        f"The other {unexplained} errors ({_pct(unexplained / e if e else 0.0):.1f} %) "
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
    out += notes
    return out
