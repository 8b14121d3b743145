"""The study's conclusion, generated from its numbers: claims computed, not written.

Every outcome the text states comes from :func:`classify`, the study's decision rule fixed
before the runs, applied to Holm-adjusted p-values (:func:`adjust`); every number in the text
is formatted from the comparisons passed in (:mod:`hhnas.reporting.study_stats`). Nothing is
ranked or summarised by hand, so the prose cannot drift from the results when they change.

Input shape, for :func:`adjust` and :func:`conclusion`::

    {source: {dataset | "overall": {reference: comparison}}}

where a source is a separate body of evidence ("surrogate": the surrogate benchmark's many
simulated seeds; "real": the confirmatory runs on real models), a comparison is a
:func:`~hhnas.reporting.study_stats.paired_comparison` or
:func:`~hhnas.reporting.study_stats.combine_datasets` dict of the variant minus the reference,
and "overall" is the comparison combined across datasets.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

from hhnas.reporting.records import Comparisons, Conclusion, PairedComparison
from hhnas.reporting.study_stats import holm

OUTCOMES = ("better", "worse", "equivalent", "inconclusive")
OVERALL = "overall"
DEFAULT_SOURCE_LABELS = {
    "surrogate": "Surrogate benchmark ({n} seeds per dataset)",
    "real": "Confirmatory real runs ({n} experiments per dataset)",
}


def classify(comp: PairedComparison, alpha: float) -> str:
    """One of :data:`OUTCOMES` for one comparison (variant minus reference), by the study's
    pre-registered decision rule:

    1. "equivalent" when ``p_tost_holm < alpha``: the Holm-adjusted two one-sided tests show the
       difference lies within +-margin. This wins even when the difference test is also
       significant: a difference smaller than the margin fixed in advance is one the study
       declared, before seeing the results, not to care about, and with hundreds of surrogate
       seeds a tiny difference is easily significant.
    2. "better" when ``p_holm < alpha`` and ``mean_diff > 0``.
    3. "worse" when ``p_holm < alpha`` and ``mean_diff < 0``.
    4. "inconclusive" otherwise: neither a difference nor equivalence was shown, which is not
       evidence that the variants are alike.

    ``p_tost_holm`` may be missing, None or NaN (no margin, or no test); a NaN or None p counts
    as not significant, since no test was possible. A comparison without ``p_holm`` was not
    adjusted (see :func:`adjust`) and raises ValueError, as does alpha outside (0, 1).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if "p_holm" not in comp:
        raise ValueError("comparison has no p_holm: Holm-adjust the comparisons first (adjust)")
    if _significant(comp.get("p_tost_holm"), alpha):
        return "equivalent"
    if _significant(comp["p_holm"], alpha):
        diff = float(comp["mean_diff"])
        if diff > 0.0:
            return "better"
        if diff < 0.0:
            return "worse"
    return "inconclusive"


def _significant(p: float | None, alpha: float) -> bool:
    # NaN < alpha is False, which is the intended reading; None needs its own test.
    return p is not None and float(p) < alpha


def adjust(results: Comparisons) -> Comparisons:
    """A deep copy of `results` with ``p_holm`` and ``p_tost_holm`` added to every comparison.

    One Holm family per source, over every comparison in it (every dataset, "overall" and
    every reference): the surrogate benchmark and the real runs are separate studies, each
    with its own chance of a false claim to control, while within a source any of the
    reported comparisons could be quoted as a finding. The difference p's (``p``) and the
    equivalence p's (``p_tost``) are adjusted separately, as two sets of claims. A missing or
    None p is NaN and stays NaN (:func:`~hhnas.reporting.study_stats.holm` does not count it).
    """
    out = copy.deepcopy(dict(results))
    for source, per_dataset in out.items():
        comps = _comps(per_dataset)
        for key, adjusted in (("p", "p_holm"), ("p_tost", "p_tost_holm")):
            raw = [_float(c.get(key)) for c in comps]
            for comp, p in zip(comps, holm(raw), strict=True):
                comp[adjusted] = p
        out[source] = per_dataset
    return out


def _float(x: float | None) -> float:
    return math.nan if x is None else float(x)


def conclusion(
    results: Comparisons,
    variant: str,
    margin: float,
    alpha: float,
    unit: str = "points",
    *,
    level: float = 0.95,
    source_labels: Mapping[str, str] | None = None,
) -> Conclusion:
    """The conclusion about `variant` against each reference, per source, as outcomes and text.

    `results` is ``{source: {dataset | "overall": {reference: comparison}}}``, Holm-adjusted by
    :func:`adjust` (done here when no comparison carries ``p_holm``; a mix of adjusted and
    unadjusted comparisons raises ValueError, since part of a family cannot be adjusted alone).

    Returns

    * ``outcomes``: ``{source: {dataset: {reference: outcome}}}`` from :func:`classify`;
    * ``sentences``: one per (source, reference), e.g. ``"Surrogate benchmark (200 seeds per
      dataset): hhnas vs random-mutation: better on spider (+0.42 points, 95 % CI [+0.20,
      +0.64], d_z +0.31, Holm p 0.001), equivalent within ±0.50 points on clinc150-20 (...);
      overall: better (...)."``, with the datasets in input order and "overall" last;
    * ``text``: the decision rule (with `alpha` and `margin`) followed by the sentences, one
      paragraph each.

    Every number is formatted from the input: differences and CI bounds with a sign and 2
    decimals in `unit`, d_z with a sign and 2 decimals (left out where NaN, as for the
    combined "overall"), p with 3 decimals or "<0.001" (NaN: "n/a"), the CI level from the
    comparison's ``level`` key or else `level`. A better, worse or inconclusive outcome quotes
    the Holm p of the difference test; equivalent quotes the Holm p of the TOST, and
    inconclusive quotes it too when there is one, since neither test reached alpha.

    `source_labels` names the sources (defaults: :data:`DEFAULT_SOURCE_LABELS`, an unknown
    source by its key); a ``{n}`` in a label becomes the distinct per-dataset ``n`` of that
    source's comparisons, e.g. "200" or "4/5". A comparison whose ``margin`` differs from
    `margin` raises ValueError: its TOST p would belong to another claim than the text states.
    """
    flags = {"p_holm" in c for per_ds in results.values() for c in _comps(per_ds)}
    if flags == {True, False}:
        raise ValueError("some comparisons are Holm-adjusted and some are not; adjust them all")
    if flags == {False}:
        results = adjust(results)
    for per_ds in results.values():
        for comp in _comps(per_ds):
            m = comp.get("margin")
            if m is not None and not math.isclose(float(m), margin, rel_tol=1e-12):
                raise ValueError(f"a comparison's margin {m} differs from the stated {margin}")
    labels = {**DEFAULT_SOURCE_LABELS, **(source_labels or {})}
    outcomes: dict[str, dict[str, dict[str, str]]] = {}
    sentences: list[str] = []
    for source, per_ds in results.items():
        outcomes[source] = {
            ds: {ref: classify(comp, alpha) for ref, comp in per_ref.items()}
            for ds, per_ref in per_ds.items()
        }
        label = labels.get(source, f"{source} ({{n}} pairs per dataset)")
        if "{n}" in label:
            label = label.replace("{n}", _per_dataset_n(per_ds))
        references = list(dict.fromkeys(ref for per_ref in per_ds.values() for ref in per_ref))
        for ref in references:
            parts, overall = [], None
            for ds, per_ref in per_ds.items():
                if ref not in per_ref:
                    continue
                head, details = _clause(
                    outcomes[source][ds][ref], per_ref[ref], margin, unit, level
                )
                if ds == OVERALL:
                    overall = f"overall: {head} ({details})"
                else:
                    parts.append(f"{head} on {ds} ({details})")
            body = ", ".join(parts)
            if overall is not None:
                body = f"{body}; {overall}" if body else overall
            sentences.append(f"{label}: {variant} vs {ref}: {body}.")
    rule = (
        f"Decision rule, fixed before the runs: a comparison is equivalent when the "
        f"Holm-adjusted equivalence test (TOST, margin ±{margin:.2f} {unit}) gives p < "
        f"{_alpha(alpha)}, else better or worse when the Holm-adjusted t test of the "
        f"difference gives p < {_alpha(alpha)}, else inconclusive."
    )
    return {
        "outcomes": outcomes,
        "sentences": sentences,
        "text": "\n\n".join([rule, *sentences]),
    }


def _comps(per_ds: Mapping[str, Mapping[str, PairedComparison]]) -> list[PairedComparison]:
    return [c for per_ref in per_ds.values() for c in per_ref.values()]


def _per_dataset_n(per_ds: Mapping[str, Mapping[str, PairedComparison]]) -> str:
    ns = sorted({int(c["n"]) for ds, per in per_ds.items() if ds != OVERALL for c in per.values()})
    return "/".join(map(str, ns)) if ns else "n/a"


def _clause(
    outcome: str, comp: PairedComparison, margin: float, unit: str, level: float
) -> tuple[str, str]:
    """("<outcome>", "<diff> <unit>, <level> % CI [lo, hi], d_z <d>, <p>") for one comparison."""
    head = f"equivalent within ±{margin:.2f} {unit}" if outcome == "equivalent" else outcome
    lvl = float(comp.get("level", level))
    details = [
        f"{_signed(comp['mean_diff'])} {unit}",
        f"{lvl * 100:g} % CI {_interval(comp.get('ci_low'), comp.get('ci_high'))}",
    ]
    d_z = _float(comp.get("d_z"))
    if not math.isnan(d_z):
        details.append(f"d_z {_signed(d_z)}")
    p_tost = _float(comp.get("p_tost_holm"))
    if outcome != "equivalent":
        details.append(f"Holm p {_p(comp['p_holm'])}")
    if outcome == "equivalent" or (outcome == "inconclusive" and not math.isnan(p_tost)):
        details.append(f"TOST Holm p {_p(p_tost)}")
    return head, ", ".join(details)


def _signed(x: float) -> str:
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    # "-0.00" for a tiny negative value would claim a direction the rounding erased.
    s = f"{x:+.2f}"
    return "+0.00" if s == "-0.00" else s


def _interval(lo: float | None, hi: float | None) -> str:
    lo_f, hi_f = _float(lo), _float(hi)
    if math.isnan(lo_f) or math.isnan(hi_f):
        return "n/a"
    return f"[{_signed(lo_f)}, {_signed(hi_f)}]"


def _p(p: float | None) -> str:
    x = _float(p)
    if math.isnan(x):
        return "n/a"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _alpha(alpha: float) -> str:
    # alpha is a round number chosen in advance (0.05, 0.01); print it as written.
    return f"{alpha:g}"
