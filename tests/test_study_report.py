"""The study's numbers from hand-made metrics files: best per experiment, CIs, paired tests
against scipy.stats, the table's cells, curve bands, Spearman's rho and the notes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hhnas.reporting.build import study_notes
from hhnas.reporting.study import (
    curve_band,
    curves,
    load_study,
    spearman,
    study_table,
    summarise,
)

# variant -> experiment -> validation accuracies of iterations 0, 1, 2 (None = failed)
VALS = {
    "a": {1: [0.50, 0.70, 0.60], 2: [0.40, None, 0.65], 3: [0.55, 0.58, 0.57]},
    "b": {1: [0.50, 0.60, 0.62], 2: [0.40, 0.45, 0.50], 3: [0.55, 0.56, 0.59]},
}


def _write(tmp: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v, exps in VALS.items():
        for e, accs in exps.items():
            for i, acc in enumerate(accs):
                path = tmp / v / f"exp{e}" / f"metrics_{i}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                rec = {
                    "variant": v,
                    "dataset": "toy",
                    "experiment": e,
                    "iteration": i,
                    "model": 1,
                    "macro": [1, 0, 0],
                    "params": {"learning_rate": 0.01},
                    "status": "ok" if acc is not None else "failed",
                    "val_acc": acc if acc is not None else 0.0,
                    "test_acc": acc - 0.01 if acc is not None else 0.0,
                    "seconds": 1.0,
                    "n_params": 1000 * (i + 1),
                    "job_seconds": 2.0,
                }
                path.write_text(json.dumps(rec))
                out.setdefault(v, []).append(str(path))
    return out


@pytest.fixture
def summary(tmp_path: Path) -> dict:
    frames = load_study(_write(tmp_path), {})
    return summarise(frames, ["b"], 2000, 0.95, 0)


def test_best_per_experiment_and_the_paired_tests(summary):
    a, b = [70.0, 65.0, 58.0], [62.0, 50.0, 59.0]
    assert summary["a"]["best_val"] == pytest.approx(a)
    assert summary["b"]["best_val"] == pytest.approx(b)
    assert summary["a"]["test_at_best"] == pytest.approx([69.0, 64.0, 57.0])
    t = summary["a"]["tests"]["b"]
    ref = stats.ttest_rel(a, b)
    assert t["n"] == 3
    assert t["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))  # (8 + 15 - 1) / 3
    assert t["p_t"] == pytest.approx(ref.pvalue)
    # Sign flips of (8, 15, -1): |mean| >= 22/3 for (+,+,+), (+,+,-) and their negatives.
    assert t["p_flip"] == pytest.approx(4 / 8)
    assert summary["b"]["tests"] == {}  # a reference is not tested against itself
    lo, hi = summary["a"]["val_ci"]
    assert min(a) - 1e-9 <= lo <= np.mean(a) <= hi <= max(a) + 1e-9


def test_the_table_cells(summary):
    table = study_table(summary, ["b"], 0.95)
    row = table.iloc[0].to_dict()
    assert row["Variant"] == "a" and row["Exp"] == "3"
    assert (
        row["Best Val (%)"] == f"{np.mean([70, 65, 58]):.2f} ± {np.std([70, 65, 58], ddof=1):.2f}"
    )
    assert row["Failed"] == f"{np.mean([0, 1, 0]):.1f} ± {np.std([0, 1, 0], ddof=1):.1f}"
    assert row["Time (s)"] == "6 ± 0"
    assert row["Val diff vs b (pts)"] == "+7.33"
    assert table.iloc[1]["Val diff vs b (pts)"] is None


def test_curves_and_their_band(tmp_path: Path):
    frames = load_study(_write(tmp_path), {})
    arr = curves(frames)["a"]
    # The failed candidate of experiment 2 never counts as a best.
    expected = [[50.0, 70.0, 70.0], [40.0, 40.0, 65.0], [55.0, 58.0, 58.0]]
    np.testing.assert_allclose(arr, expected)
    band = curve_band(arr, 2000, 0.95, 0)
    assert band.shape == (2, 3)
    assert (band[0] <= arr.mean(axis=0)).all() and (arr.mean(axis=0) <= band[1]).all()


def test_a_variant_sharing_files_reads_them_under_the_owner(tmp_path: Path):
    paths = _write(tmp_path)
    frames = load_study({"a": paths["a"], "a-alias": paths["a"]}, {"a-alias": "a"})
    assert frames["a-alias"]["val_acc"].tolist() == frames["a"]["val_acc"].tolist()
    with pytest.raises(ValueError, match="given as variant 'a-alias'"):
        load_study({"a-alias": paths["a"]}, {})


@pytest.mark.parametrize(
    "x, y",
    [([0.1, 0.5, 0.2, 0.9], [1, 3, 2, 4]), ([0.3, 0.3, 0.1, 0.7, 0.2], [0.5, 0.4, 0.4, 0.9, 0.1])],
)
def test_spearman_matches_scipy(x, y):
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_spearman_of_a_constant_is_undefined():
    assert np.isnan(spearman([1, 2, 3], [0.5, 0.5, 0.5]))


def test_notes_name_the_best_variant_and_the_tests(summary):
    doc = {
        "dataset": "toy",
        "candidates": 18,
        "variants": summary,
        "importance": {"importance": {"lr": 0.7, "p2": 0.3}, "spearman": {"a": 1.0}},
    }
    notes = study_notes(json.loads(json.dumps(doc)))
    assert notes[0].startswith(
        "toy (18 candidates): highest mean best validation accuracy a 64.33 %"
    )
    assert any(n.startswith("toy, a against b +7.33 pts") for n in notes)
    assert notes[-1] == (
        "toy: fANOVA ranks lr, p2 most important; Spearman's rho of importance against a's "
        "final P(s): +1.00."
    )


def test_dataset_notes_count_the_capped_training_rows():
    from hhnas.reporting.build import _dataset_entry

    counts = {
        "classes": 25,
        "classes_raw": 26,
        "rows": 1004,
        "rows_raw": 2693,
        "train": 200,
        "val": 402,
        "test": 402,
        "rows_dropped_max_train_per_class": 1685,
    }
    config = {"datasets": {"h8": {"min_questions_per_class": 10, "max_train_per_class": 8}}}
    notes = _dataset_entry("h8", counts, config)["notes"]
    assert (
        "1685 training rows left out by max_train_per_class=8 (validation and test kept)" in notes
    )
