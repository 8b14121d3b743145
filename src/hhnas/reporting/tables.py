"""The paper's Tables 1-3 (and a per-model summary) from the metrics DataFrame.

Every function takes ``dataset``: the rows to use (Tables 2-3 and the per-model summary are
meant for the Spider search, Table 1 for the held-out one). ``None`` means "the only dataset
in the frame", which is what the workflow passes since it loads each dataset's metrics
separately and the dataset names are configurable; a frame with several datasets then needs
the name.

Accuracies in the metrics are fractions; every table shows percentages rounded to 2 decimals.
Rule shared by all tables: failed candidates (status "failed", accuracy 0.0) count as
evaluated, but never enter a max, a min or a best-candidate choice, because their 0.0 is a
crash, not a measured accuracy. Each per-(experiment, model) table carries a ``Failed`` count
so a reader can see they happened.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
from tabulate import tabulate

from hhnas.io import write_text
from hhnas.reporting.records import BestCandidate

MISSING = "–"


def select_dataset(df: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    """Rows of ``dataset``; with None, the only dataset present (ambiguity is an error)."""
    names = sorted(df["dataset"].unique())
    if dataset is None:
        if len(names) > 1:
            raise ValueError(f"metrics hold several datasets {names}: name the one to use")
        return df
    # An unknown name is almost always a config mismatch; an empty table would hide it.
    if dataset not in names:
        raise ValueError(f"no metrics for dataset {dataset!r}; metrics hold {names}")
    return df[df["dataset"] == dataset]


def _pct(fraction: float) -> float:
    return round(float(fraction) * 100.0, 2) if not pd.isna(fraction) else math.nan


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"]


def _best_row(group: pd.DataFrame, column: str) -> pd.Series | None:
    """Highest ``column`` among ok candidates; ties go to the earliest experiment, iteration."""
    ok = _ok(group)
    if ok.empty:
        return None
    order = ok.sort_values(
        [column, "experiment", "iteration"], ascending=[False, True, True], kind="mergesort"
    )
    return order.iloc[0]


def _per_experiment_model(df: pd.DataFrame, column: str, with_min: bool) -> pd.DataFrame:
    rows = []
    for (exp, model), group in df.groupby(["experiment", "model"], sort=True):
        best = _best_row(group, column)
        ok = _ok(group)
        row: dict[str, Any] = {"Exp": f"EXP{exp}", "Model": f"M{model}"}
        row["Max Acc (%)"] = _pct(best[column]) if best is not None else math.nan
        if with_min:
            row["Min Acc (%)"] = _pct(ok[column].min()) if not ok.empty else math.nan
        row["Iter"] = int(best["iteration"]) if best is not None else pd.NA
        row["Evaluated"] = len(group)
        row["Failed"] = int((group["status"] == "failed").sum())
        rows.append(row)
    columns = ["Exp", "Model", "Max Acc (%)"] + (["Min Acc (%)"] if with_min else [])
    out = pd.DataFrame(rows, columns=columns + ["Iter", "Evaluated", "Failed"])
    out["Iter"] = out["Iter"].astype("Int64")
    return out


def with_paper(
    table: pd.DataFrame, paper: dict[tuple[int, int], tuple], columns: list[str]
) -> pd.DataFrame:
    """``table`` with the paper's figures for the same (experiment, model) in ``columns``
    after ours; a row the paper has no figure for (our experiments 3-4 of Table 1) shows
    missing cells."""
    out = table.copy()
    keys = [(int(e[3:]), int(m[1:])) for e, m in zip(out["Exp"], out["Model"], strict=True)]
    for i, col in enumerate(columns):
        values = [paper[k][i] if k in paper else None for k in keys]
        if col.startswith("Paper Iter"):
            out[col] = pd.array(values, dtype="Int64")
        else:
            out[col] = [math.nan if v is None else float(v) for v in values]
    return out


def table3(
    df: pd.DataFrame,
    dataset: str | None = None,
    paper: dict[tuple[int, int], tuple] | None = None,
) -> pd.DataFrame:
    """Paper's Table 3: per (experiment, model) evaluated at least once on ``dataset``.

    ``Max Acc (%)`` / ``Min Acc (%)``: max / min *validation* accuracy over the model's
    successful evaluations in that experiment; ``Iter``: iteration of the max (earliest on
    ties). ``Evaluated`` counts every evaluation, failed ones included; ``Failed`` counts the
    failed ones, which are excluded from max/min. A model whose evaluations all failed shows
    missing Max/Min/Iter. With ``paper`` (hhnas.reporting.paper.TABLE3) the paper's Max, Min
    and Iter of the same experiment and model follow ours.
    """
    out = _per_experiment_model(select_dataset(df, dataset), "val_acc", with_min=True)
    if paper is None:
        return out
    return with_paper(out, paper, ["Paper Max Acc (%)", "Paper Min Acc (%)", "Paper Iter"])


def table1(
    df: pd.DataFrame,
    dataset: str | None = None,
    paper: dict[tuple[int, int], tuple] | None = None,
) -> pd.DataFrame:
    """Paper's Table 1 for the held-out dataset: per (experiment, model) the max *test* accuracy.

    ``Iter`` is the iteration of that max (earliest on ties); failed candidates are excluded
    from the max and counted in ``Failed``. With ``dataset=None`` the metrics must hold a
    single dataset. With ``paper`` (hhnas.reporting.paper.TABLE1, on the paper's confidential
    dataset) the paper's Max and Iter of the same experiment and model follow ours.
    """
    out = _per_experiment_model(select_dataset(df, dataset), "test_acc", with_min=False)
    if paper is None:
        return out
    return with_paper(out, paper, ["Paper Max Acc (%)", "Paper Iter"])


def best_candidate(df: pd.DataFrame, dataset: str | None = None) -> BestCandidate:
    """Our reported model: the successful candidate with the highest *validation* accuracy.

    Ties go to the earlier experiment, then the earlier iteration. Its test accuracy is the
    one reported, never the maximum test accuracy seen (that would be selecting on test).
    """
    best = _best_row(select_dataset(df, dataset), "val_acc")
    if best is None:
        raise ValueError(f"no successful candidate in metrics of {sorted(df['dataset'].unique())}")
    return {
        "dataset": str(best["dataset"]),
        "experiment": int(best["experiment"]),
        "iteration": int(best["iteration"]),
        "model": int(best["model"]),
        "val_acc": float(best["val_acc"]),
        "test_acc": float(best["test_acc"]),
        "val_acc_pct": _pct(best["val_acc"]),
        "test_acc_pct": _pct(best["test_acc"]),
    }


def table2(
    df: pd.DataFrame,
    baseline: dict[str, float],
    paper: dict[str, float],
    dataset: str | None = None,
) -> pd.DataFrame:
    """Paper's Table 2: cited Text-to-SQL baseline vs the paper's and our HHNAS-AM accuracy.

    ``baseline`` and ``paper`` are {"val": pct, "test": pct} already in percent. Ours comes
    from :func:`best_candidate`; that candidate is stored in ``result.attrs["best_candidate"]``.
    """
    best = best_candidate(df, dataset)
    out = pd.DataFrame(
        {
            "Metric": ["Validation", "Test"],
            "Text-to-SQL (cited)": [float(baseline["val"]), float(baseline["test"])],
            "HHNAS-AM (paper)": [float(paper["val"]), float(paper["test"])],
            "HHNAS-AM (ours)": [best["val_acc_pct"], best["test_acc_pct"]],
        }
    )
    out.attrs["best_candidate"] = best
    return out


def best_per_model(df: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """Per model over all experiments: best validation accuracy and that candidate's test accuracy.

    Same tie rule and failed-candidate rule as :func:`best_candidate`; a model whose every
    evaluation failed keeps a row with missing accuracies.
    """
    rows = []
    for model, group in select_dataset(df, dataset).groupby("model", sort=True):
        best = _best_row(group, "val_acc")
        found = best is not None
        rows.append(
            {
                "Model": f"M{model}",
                "Best Val Acc (%)": _pct(best["val_acc"]) if found else math.nan,
                "Test Acc (%)": _pct(best["test_acc"]) if found else math.nan,
                "Exp": f"EXP{int(best['experiment'])}" if found else None,
                "Iter": int(best["iteration"]) if found else pd.NA,
                "Evaluated": len(group),
                "Failed": int((group["status"] == "failed").sum()),
            }
        )
    columns = ["Model", "Best Val Acc (%)", "Test Acc (%)", "Exp", "Iter", "Evaluated", "Failed"]
    out = pd.DataFrame(rows, columns=columns)
    out["Iter"] = out["Iter"].astype("Int64")
    return out


# --- writing -------------------------------------------------------------------------------


def _cells(df: pd.DataFrame) -> list[list[str]]:
    # Format once here so CSV, Markdown and LaTeX show identical numbers.
    return [[_fmt(v) for v in row] for row in df.itertuples(index=False, name=None)]


def _fmt(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def to_markdown(df: pd.DataFrame) -> str:
    """GitHub pipe table; numbers are pre-formatted strings so tabulate cannot reformat them."""
    aligns = ["right" if _numeric(df[c]) else "left" for c in df.columns]
    return (
        tabulate(
            _cells(df),
            headers=list(df.columns),
            tablefmt="pipe",
            disable_numparse=True,
            colalign=aligns,
        )
        + "\n"
    )


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    MISSING: "--",  # en dash without relying on the document's input encoding
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(df: pd.DataFrame) -> str:
    """Booktabs tabular, hand-written to avoid pandas' jinja2-based Styler dependency."""
    spec = "".join("r" if _numeric(df[c]) else "l" for c in df.columns)
    header = " & ".join(_latex_escape(str(c)) for c in df.columns)
    body = [" & ".join(_latex_escape(cell) for cell in row) + r" \\" for row in _cells(df)]
    lines = [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        header + r" \\",
        r"\midrule",
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    """CSV with the same 2-decimal formatting as the other formats; missing cells are empty."""
    return df.to_csv(index=False, float_format="%.2f", na_rep="", lineterminator="\n")


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_html(df: pd.DataFrame, classes: str = "data") -> str:
    """HTML table for the report, formatted like the other outputs.

    Hand-built rather than ``DataFrame.to_html`` so numeric columns get ``class="num"``
    (right-aligned by the report CSS); every cell is HTML-escaped.
    """
    num = [_numeric(df[c]) for c in df.columns]

    def cell(tag: str, text: str, is_num: bool) -> str:
        attr = ' class="num"' if is_num else ""
        return f"<{tag}{attr}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", str(c), n) for c, n in zip(df.columns, num, strict=True))
    body = [
        "<tr>" + "".join(cell("td", v, n) for v, n in zip(row, num, strict=True)) + "</tr>"
        for row in _cells(df)
    ]
    return "\n".join(
        [
            f'<table class="{html.escape(classes)}">',
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table>",
        ]
    )


def write_table(df: pd.DataFrame, stem: str) -> list[str]:
    """Write ``stem.csv``, ``stem.md`` and ``stem.tex``; return the three paths."""
    outputs = {
        f"{stem}.csv": to_csv(df),
        f"{stem}.md": to_markdown(df),
        f"{stem}.tex": to_latex(df),
    }
    for path, text in outputs.items():
        write_text(path, text)
    return list(outputs)
