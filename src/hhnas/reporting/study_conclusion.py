"""The study's conclusion, computed from every dataset's summary (hhnas.reporting.study).

Two sources of evidence, each its own family of tests: the surrogate benchmark (hundreds of
simulated seeds) and the confirmatory real runs. Within a family, every reported comparison
(every variant against every reference, per dataset and overall across datasets) is
Holm-adjusted, the difference tests and the equivalence (TOST) tests separately. The outcome of
each comparison of the main variant then follows the decision rule of
hhnas.reporting.conclusion, and the text README and docs/study.md quote is generated here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from hhnas.reporting.conclusion import adjust, classify, conclusion
from hhnas.reporting.records import (
    Comparisons,
    ConclusionSettings,
    PairedComparison,
    StudyConclusion,
    StudySummary,
    VariantSummary,
)
from hhnas.reporting.study_stats import combine_datasets

SOURCES = {"surrogate": "Surrogate benchmark", "real": "Confirmatory real runs"}


def _variants(summary: StudySummary, source: str) -> dict[str, VariantSummary]:
    return summary["surrogate"]["variants"] if source == "surrogate" else summary["variants"]


def comparisons(summaries: Sequence[StudySummary], margin: float, level: float) -> Comparisons:
    """{source: {"variant vs reference": {dataset | "overall": comparison}}}: every comparison
    the study reports, with the overall one combined across datasets (hhnas.reporting
    .study_stats.combine_datasets: the mean of the per-dataset differences). A variant that
    reads another's files (q-mean-best is hhnas) repeats that one's comparisons and is left
    out, so it does not inflate Holm's count."""
    out: Comparisons = {}
    for source in SOURCES:
        pairs: dict[str, dict[str, PairedComparison]] = {}
        for summary in summaries:
            aliases = summary["aliases"] if source == "real" else {}
            for v, entry in _variants(summary, source).items():
                if v in aliases:
                    continue
                for ref, comp in entry["tests"].items():
                    if comp is not None:
                        pairs.setdefault(f"{v} vs {ref}", {})[summary["dataset"]] = comp.copy()
        for per in pairs.values():
            if len(per) > 1:
                per["overall"] = {
                    **combine_datasets(list(per.values()), level=level, margin=margin),
                    "level": level,
                }
        out[source] = pairs
    return out


def build(
    summaries: Sequence[StudySummary],
    variant: str,
    reference: Sequence[str],
    margin: float,
    alpha: float,
    level: float,
) -> StudyConclusion:
    """The adjusted comparisons, the main variant's outcomes and the generated text."""
    # Holm over every comparison of a source (the nesting is the same two levels as adjust's).
    comps = adjust(comparisons(summaries, margin, level))
    datasets = [s["dataset"] for s in summaries]
    nested: Comparisons = {}
    for source, pairs in comps.items():
        per_ds: dict[str, dict[str, PairedComparison]] = {}
        for ref in reference:
            for ds, comp in pairs.get(f"{variant} vs {ref}", {}).items():
                per_ds.setdefault(ds, {})[ref] = comp
        ordered = {d: per_ds[d] for d in datasets + ["overall"] if d in per_ds}
        if ordered:
            nested[source] = ordered
    text = conclusion(nested, variant, margin, alpha, level=level)
    return {
        "variant": variant,
        "reference": list(reference),
        "margin": margin,
        "alpha": alpha,
        "level": level,
        "comparisons": comps,
        "outcomes": text["outcomes"],
        "sentences": text["sentences"],
        "text": text["text"],
    }


def conclusion_table(result: StudyConclusion, alpha: float) -> pd.DataFrame:
    """Every comparison with its raw and Holm-adjusted p beside each other, and its outcome."""
    rows = []
    for source, pairs in result["comparisons"].items():
        for pair, per in pairs.items():
            for ds, c in per.items():
                rows.append(
                    {
                        "Source": source,
                        "Comparison": pair,
                        "Dataset": ds,
                        "n": str(c["n"]),
                        "Val diff (pts)": f"{c['mean_diff']:+.2f}",
                        "CI": f"[{c['ci_low']:+.2f}, {c['ci_high']:+.2f}]",
                        "d_z": _fmt(c.get("d_z"), "+.2f"),
                        "p (raw)": _fmt(c.get("p"), ".4f"),
                        "p (Holm)": _fmt(c.get("p_holm"), ".4f"),
                        "TOST p (raw)": _fmt(c.get("p_tost"), ".4f"),
                        "TOST p (Holm)": _fmt(c.get("p_tost_holm"), ".4f"),
                        "Outcome": classify(c, alpha),
                    }
                )
    return pd.DataFrame(rows, dtype=object)


def _fmt(x: float | None, spec: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


def write_conclusion(
    summary_paths: Sequence[str], params: ConclusionSettings, out: Mapping[str, str]
) -> StudyConclusion:
    """results/study/conclusion.json (every number), .md (the generated text README and
    docs/study.md quote) and the conclusion table (csv/md/tex beside each other)."""
    from hhnas.io import read_json, write_json, write_text
    from hhnas.reporting.tables import write_table

    summaries = [read_json(p) for p in summary_paths]
    result = build(
        summaries,
        params["variant"],
        params["reference"],
        float(params["margin"]),
        float(params["alpha"]),
        float(params["level"]),
    )
    write_json(out["json"], result)
    write_text(out["md"], result["text"] + "\n")
    write_table(conclusion_table(result, float(params["alpha"])), out["table_csv"][: -len(".csv")])
    return result
