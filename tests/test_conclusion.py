"""hhnas.reporting.conclusion: the decision rule, the Holm families and the generated text."""

import math
import re

import numpy as np
import pytest

from hhnas.reporting.conclusion import OUTCOMES, adjust, classify, conclusion
from hhnas.reporting.study_stats import combine_datasets, paired_comparison

ALPHA = 0.05
MARGIN = 0.5


def _comp(mean_diff, p_holm, p_tost_holm=None, **extra):
    return {"mean_diff": mean_diff, "p_holm": p_holm, "p_tost_holm": p_tost_holm, **extra}


# --- classify --------------------------------------------------------------------------------


def test_classify_one_of_each():
    assert classify(_comp(0.42, 0.001, 0.9), ALPHA) == "better"
    assert classify(_comp(-0.72, 0.012, 0.95), ALPHA) == "worse"
    assert classify(_comp(0.08, 0.41, 0.0004), ALPHA) == "equivalent"
    assert classify(_comp(-0.3, 0.36, 0.32), ALPHA) == "inconclusive"
    assert set(OUTCOMES) == {"better", "worse", "equivalent", "inconclusive"}


def test_significant_difference_within_margin_is_equivalent():
    # Hundreds of surrogate seeds make a 0.1-point shift significant; the margin fixed in
    # advance says a shift that small does not matter, and the rule puts equivalence first.
    assert classify(_comp(0.1, 0.0001, 0.001), ALPHA) == "equivalent"
    assert classify(_comp(-0.1, 0.0001, 0.001), ALPHA) == "equivalent"


def test_classify_missing_and_nan_p_are_not_significant():
    assert classify(_comp(0.5, math.nan, 0.9), ALPHA) == "inconclusive"
    assert classify(_comp(0.5, math.nan, math.nan), ALPHA) == "inconclusive"
    assert classify(_comp(0.5, 0.2, None), ALPHA) == "inconclusive"
    assert classify({"mean_diff": 0.5, "p_holm": 0.001}, ALPHA) == "better"  # no margin at all
    assert classify(_comp(0.5, math.nan, 0.01), ALPHA) == "equivalent"


def test_classify_threshold_is_strict_and_rejects_bad_input():
    assert classify(_comp(0.5, 0.05, 0.05), 0.05) == "inconclusive"
    assert classify(_comp(0.5, 0.0499, 0.05), 0.05) == "better"
    assert classify(_comp(0.0, 0.01), 0.05) == "inconclusive"  # no direction to claim
    with pytest.raises(ValueError, match="adjust"):
        classify({"mean_diff": 0.5, "p": 0.001}, ALPHA)
    with pytest.raises(ValueError, match="alpha"):
        classify(_comp(0.5, 0.01), 5.0)


# --- adjust ----------------------------------------------------------------------------------


def _raw(mean_diff, p, p_tost=None, n=4):
    out = {"n": n, "mean_diff": mean_diff, "p": p}
    if p_tost is not None:
        out["p_tost"] = p_tost
    return out


def test_adjust_one_family_per_source_and_per_test():
    results = {
        "surrogate": {
            "spider": {"random-mutation": _raw(0.4, 0.01, 0.2), "greedy": _raw(0.1, 0.04, 0.03)},
            "overall": {"random-mutation": _raw(0.3, 0.03, 0.02)},
        },
        "real": {"spider": {"random-mutation": _raw(0.4, 0.03)}},
    }
    out = adjust(results)
    s = out["surrogate"]
    # Difference p's 0.01, 0.03, 0.04 over m = 3: 0.03, 0.06, max(0.06, 0.04) = 0.06.
    assert s["spider"]["random-mutation"]["p_holm"] == pytest.approx(0.03)
    assert s["overall"]["random-mutation"]["p_holm"] == pytest.approx(0.06)
    assert s["spider"]["greedy"]["p_holm"] == pytest.approx(0.06)
    # TOST p's 0.02, 0.03, 0.2 on their own: 0.06, 0.06, 0.2.
    assert s["overall"]["random-mutation"]["p_tost_holm"] == pytest.approx(0.06)
    assert s["spider"]["greedy"]["p_tost_holm"] == pytest.approx(0.06)
    assert s["spider"]["random-mutation"]["p_tost_holm"] == pytest.approx(0.2)
    # The real runs are their own family of one: untouched; no TOST -> NaN.
    r = out["real"]["spider"]["random-mutation"]
    assert r["p_holm"] == pytest.approx(0.03)
    assert math.isnan(r["p_tost_holm"])
    # A copy: the input is unchanged.
    assert "p_holm" not in results["surrogate"]["spider"]["random-mutation"]


def test_holm_changes_an_outcome():
    alone = {"real": {"spider": {"random-mutation": _raw(0.8, 0.03)}}}
    assert conclusion(alone, "hhnas", MARGIN, ALPHA)["outcomes"]["real"]["spider"] == {
        "random-mutation": "better"
    }
    # The same comparison among 3: 0.03 x 3 = 0.09 (the smallest p of the three).
    three = {
        "real": {
            "spider": {"random-mutation": _raw(0.8, 0.03)},
            "clinc150-20": {"random-mutation": _raw(0.2, 0.4)},
            "overall": {"random-mutation": _raw(0.5, 0.2)},
        }
    }
    out = conclusion(three, "hhnas", MARGIN, ALPHA)
    assert out["outcomes"]["real"]["spider"] == {"random-mutation": "inconclusive"}
    assert "inconclusive on spider (+0.80 points, 95 % CI n/a, Holm p 0.090)" in out["text"]


# --- conclusion ------------------------------------------------------------------------------


def _adj(n, mean_diff, ci, d_z, p_holm, p_tost_holm, **extra):
    return {
        "n": n,
        "mean_diff": mean_diff,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "d_z": d_z,
        "p": p_holm,  # raw p's are not printed; the adjusted ones are
        "p_holm": p_holm,
        "p_tost": p_tost_holm,
        "p_tost_holm": p_tost_holm,
        "margin": MARGIN,
        **extra,
    }


RM, GR = "random-mutation", "greedy"
RESULTS = {
    "surrogate": {
        "spider": {
            RM: _adj(200, 0.4213, (0.2049, 0.6377), 0.3112, 0.0014, 0.7),
            GR: _adj(200, 1.1871, (0.9017, 1.4718), 0.6333, 0.0001, 0.999),
        },
        "clinc150-20": {RM: _adj(200, 0.0812, (-0.1044, 0.2668), 0.061, 0.41, 0.0004)},
        "spider-heldout-8": {RM: _adj(200, -0.7234, (-1.0102, -0.4366), -0.4, 0.0123, 0.95)},
        "overall": {
            RM: _adj(600, -0.0736, (-0.2871, 0.1399), math.nan, 0.5, 0.0612),
            GR: _adj(200, 1.1871, (0.9017, 1.4718), math.nan, 0.0002, 0.999),
        },
    },
    "real": {
        "spider": {RM: _adj(4, 1.25, (-0.5, 3.0), 0.9, 0.2, None, level=0.9)},
        "clinc150-20": {RM: _adj(5, 0.333, (math.nan, math.nan), math.nan, math.nan, None)},
    },
}

SURROGATE_RM = (
    "Surrogate benchmark (200 seeds per dataset): hhnas vs random-mutation: "
    "better on spider (+0.42 points, 95 % CI [+0.20, +0.64], d_z +0.31, Holm p 0.001), "
    "equivalent within ±0.50 points on clinc150-20 "
    "(+0.08 points, 95 % CI [-0.10, +0.27], d_z +0.06, TOST Holm p <0.001), "
    "worse on spider-heldout-8 (-0.72 points, 95 % CI [-1.01, -0.44], d_z -0.40, Holm p 0.012); "
    "overall: inconclusive "
    "(-0.07 points, 95 % CI [-0.29, +0.14], Holm p 0.500, TOST Holm p 0.061)."
)
# "better" quotes the difference test's p only; the combined "overall" has no d_z.
SURROGATE_GR = (
    "Surrogate benchmark (200 seeds per dataset): hhnas vs greedy: "
    "better on spider (+1.19 points, 95 % CI [+0.90, +1.47], d_z +0.63, Holm p <0.001); "
    "overall: better (+1.19 points, 95 % CI [+0.90, +1.47], Holm p <0.001)."
)
REAL_RM = (
    "Confirmatory real runs (4/5 experiments per dataset): hhnas vs random-mutation: "
    "inconclusive on spider (+1.25 points, 90 % CI [-0.50, +3.00], d_z +0.90, Holm p 0.200), "
    "inconclusive on clinc150-20 (+0.33 points, 95 % CI n/a, Holm p n/a)."
)


def test_conclusion_outcomes():
    out = conclusion(RESULTS, "hhnas", MARGIN, ALPHA)
    assert out["outcomes"] == {
        "surrogate": {
            "spider": {RM: "better", GR: "better"},
            "clinc150-20": {RM: "equivalent"},
            "spider-heldout-8": {RM: "worse"},
            "overall": {RM: "inconclusive", GR: "better"},
        },
        "real": {"spider": {RM: "inconclusive"}, "clinc150-20": {RM: "inconclusive"}},
    }


def test_conclusion_sentences_exact():
    out = conclusion(RESULTS, "hhnas", MARGIN, ALPHA)
    s_rm, s_gr, r_rm = out["sentences"]
    assert s_rm == SURROGATE_RM
    assert s_gr == SURROGATE_GR
    assert r_rm == REAL_RM
    assert out["text"].split("\n\n")[1:] == out["sentences"]
    rule = out["text"].split("\n\n")[0]
    assert "margin ±0.50 points" in rule and "p < 0.05" in rule


def test_text_states_each_dataset_outcome():
    out = conclusion(RESULTS, "hhnas", MARGIN, ALPHA)
    for source, per_ds in out["outcomes"].items():
        sentences = [s for s in out["sentences"] if s.startswith(_LABEL_START[source])]
        for ds, per_ref in per_ds.items():
            for ref, outcome in per_ref.items():
                (sentence,) = [s for s in sentences if f" vs {ref}: " in s]
                word = f"{outcome} within ±0.50 points" if outcome == "equivalent" else outcome
                where = "overall: " + word if ds == "overall" else f"{word} on {ds} ("
                assert where in sentence, (source, ds, ref)


_LABEL_START = {"surrogate": "Surrogate benchmark", "real": "Confirmatory real runs"}
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _allowed_numbers(results, margin, alpha, level=0.95) -> set[str]:
    """Every string a number in the text may honestly be, formatted from the input alone."""
    allowed = {f"{margin:.2f}", f"{alpha:g}"}
    for per_ds in results.values():
        for per_ref in per_ds.values():
            for c in per_ref.values():
                allowed.add(str(c["n"]))
                allowed.add(f"{c.get('level', level) * 100:g}")
                for key in ("mean_diff", "ci_low", "ci_high", "d_z"):
                    allowed.add(f"{c[key]:+.2f}")
                for key in ("p_holm", "p_tost_holm"):
                    p = c.get(key)
                    if p is not None and not math.isnan(p):
                        allowed.add("0.001" if p < 0.001 else f"{p:.3f}")
    return allowed


def _invented(text: str, results, names, margin, alpha) -> list[str]:
    # Names can hold digits (clinc150-20); longest first so no name is cut by a shorter one.
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    allowed = _allowed_numbers(results, margin, alpha)
    return [x for x in _NUMBER.findall(text) if x not in allowed]


NAMES = ["hhnas", RM, GR, "spider", "clinc150-20", "spider-heldout-8", "d_z"]


def test_every_number_in_the_text_comes_from_the_input():
    text = conclusion(RESULTS, "hhnas", MARGIN, ALPHA)["text"]
    assert len(_NUMBER.findall(text)) > 50  # the check below has something to check
    assert _invented(text, RESULTS, NAMES, MARGIN, ALPHA) == []
    # The check has teeth: one changed digit, or a number from nowhere, is caught.
    assert _invented(text.replace("+0.42", "+0.43"), RESULTS, NAMES, MARGIN, ALPHA) == ["+0.43"]
    assert _invented(text + " (3x faster)", RESULTS, NAMES, MARGIN, ALPHA) == ["3"]


def test_numbers_from_study_stats_end_to_end():
    """Real comparisons from study_stats, unadjusted: conclusion adjusts them itself."""
    rng = np.random.default_rng(5)
    per_ds, comps = {}, []
    for ds, shift in [("spider", 0.6), ("clinc150-20", 0.05), ("spider-heldout-8", -0.6)]:
        b = rng.normal(80.0, 1.0, 200)
        a = b + shift + rng.normal(0.0, 1.0, 200)
        comps.append({**paired_comparison(a, b, margin=MARGIN), "level": 0.95})
        per_ds[ds] = {RM: comps[-1]}
    per_ds["overall"] = {RM: combine_datasets(comps, margin=MARGIN)}
    results = {"surrogate": per_ds}
    out = conclusion(results, "hhnas", MARGIN, ALPHA)
    adjusted = adjust(results)
    for ds, per_ref in adjusted["surrogate"].items():
        assert out["outcomes"]["surrogate"][ds][RM] == classify(per_ref[RM], ALPHA)
    assert out["outcomes"]["surrogate"]["spider"][RM] == "better"
    assert out["outcomes"]["surrogate"]["clinc150-20"][RM] == "equivalent"
    assert out["outcomes"]["surrogate"]["spider-heldout-8"][RM] == "worse"
    assert _invented(out["text"], adjusted, NAMES, MARGIN, ALPHA) == []


def test_source_labels():
    results = {"real": RESULTS["real"], "pilot": {"spider": {RM: RESULTS["real"]["spider"][RM]}}}
    out = conclusion(results, "hhnas", MARGIN, ALPHA, source_labels={"real": "Real ({n} runs)"})
    assert out["sentences"][0].startswith("Real (4/5 runs): hhnas vs random-mutation: ")
    assert out["sentences"][1].startswith("pilot (4 pairs per dataset): hhnas vs ")
    out = conclusion(results, "hhnas", MARGIN, ALPHA, source_labels={"real": "Real"})
    assert out["sentences"][0].startswith("Real: hhnas vs random-mutation: ")


def test_unit_and_level_arguments():
    results = {"real": {"spider": {RM: _adj(4, 1.25, (-0.5, 3.0), 0.9, 0.2, None)}}}
    out = conclusion(results, "hhnas", MARGIN, ALPHA, unit="pp", level=0.99)
    assert "(+1.25 pp, 99 % CI [-0.50, +3.00]," in out["sentences"][0]


def test_conclusion_rejects_inconsistent_input():
    mixed = {"real": {"spider": {RM: _raw(0.5, 0.01)}, "overall": {RM: _comp(0.5, 0.01)}}}
    with pytest.raises(ValueError, match="adjust them all"):
        conclusion(mixed, "hhnas", MARGIN, ALPHA)
    other_margin = {"real": {"spider": {RM: {**_raw(0.5, 0.01, 0.02), "margin": 1.0}}}}
    with pytest.raises(ValueError, match="margin"):
        conclusion(other_margin, "hhnas", MARGIN, ALPHA)
