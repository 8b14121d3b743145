"""The study's numbers from hand-made metrics files: best per experiment, t-intervals, paired
comparisons against scipy.stats, the table's cells, curve bands, the surrogate's order check,
the noise floor, the Q-table analysis and the notes."""

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
    noise_floor,
    order_agreement,
    qtable_table,
    simulated_curves,
    study_table,
    summarise,
    surrogate_summary,
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
    return summarise(frames, ["b"], 0.95, 0.5)


A, B = [70.0, 65.0, 58.0], [62.0, 50.0, 59.0]


def test_best_per_experiment_and_the_paired_comparison(summary):
    assert summary["a"]["best_val"] == pytest.approx(A)
    assert summary["b"]["best_val"] == pytest.approx(B)
    assert summary["a"]["test_at_best"] == pytest.approx([69.0, 64.0, 57.0])
    t = summary["a"]["tests"]["b"]
    d = np.subtract(A, B)  # (8, 15, -1)
    ref = stats.ttest_rel(A, B)
    assert t["n"] == 3
    assert t["mean_diff"] == pytest.approx(22 / 3)
    assert t["p"] == pytest.approx(ref.pvalue)
    assert t["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    lo, hi = stats.t.interval(0.95, 2, loc=d.mean(), scale=stats.sem(d))
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((lo, hi))
    assert summary["b"]["tests"] == {}  # a reference is not tested against itself
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(A), scale=stats.sem(A))
    assert summary["a"]["val_ci"] == pytest.approx([lo, hi])


def test_the_table_cells(summary):
    table = study_table(summary, ["b"], 0.95)
    row = table.iloc[0].to_dict()
    assert row["Variant"] == "a" and row["Exp"] == "3"
    assert row["Best Val (%)"] == f"{np.mean(A):.2f} ± {np.std(A, ddof=1):.2f}"
    assert row["Failed"] == f"{np.mean([0, 1, 0]):.1f} ± {np.std([0, 1, 0], ddof=1):.1f}"
    assert row["Time (s)"] == "6 ± 0"
    t = summary["a"]["tests"]["b"]
    assert row["Val diff vs b (pts, 95 % t-CI)"] == (
        f"+7.33 [{t['ci_low']:+.2f}, {t['ci_high']:+.2f}], d_z {t['d_z']:+.2f}"
    )
    assert row["raw p vs b (t / TOST)"].startswith(f"{t['p']:.3f} / ")
    assert table.iloc[1]["Val diff vs b (pts, 95 % t-CI)"] is None


def test_curves_and_their_band(tmp_path: Path):
    frames = load_study(_write(tmp_path), {})
    arr = curves(frames)["a"]
    # The failed candidate of experiment 2 never counts as a best.
    expected = [[50.0, 70.0, 70.0], [40.0, 40.0, 65.0], [55.0, 58.0, 58.0]]
    np.testing.assert_allclose(arr, expected)
    band = curve_band(arr, 0.95)
    col = arr[:, 1]
    lo, hi = stats.t.interval(0.95, 2, loc=col.mean(), scale=stats.sem(col))
    assert band[:, 1] == pytest.approx([lo, hi])


def test_a_variant_sharing_files_reads_them_under_the_owner(tmp_path: Path):
    paths = _write(tmp_path)
    frames = load_study({"a": paths["a"], "a-alias": paths["a"]}, {"a-alias": "a"})
    assert frames["a-alias"]["val_acc"].tolist() == frames["a"]["val_acc"].tolist()
    with pytest.raises(ValueError, match="given as variant 'a-alias'"):
        load_study({"a-alias": paths["a"]}, {})


def _sim(best: list[float], seeds: list[int]) -> dict:
    return {
        "seeds": seeds,
        "best_val": best,
        "test_at_best": [b - 1 for b in best],
        "failed": [0] * len(best),
        "curves": [[b] for b in best],
    }


def test_surrogate_summary_pairs_by_seed_and_checks_the_order():
    sim = {
        "a": {"surrogate": _sim([90.0, 91.0, 92.0, 90.5], [1, 2, 3, 4])},
        "b": {"surrogate": _sim([89.0, 90.5, 91.0, 90.0], [1, 2, 3, 4])},
        "c": {"surrogate": _sim([80.0, 81.0, 82.0, 80.5], [1, 2, 3, 4])},
    }
    out = surrogate_summary(sim, ["b"], 0.95, 0.5)
    ref = stats.ttest_rel([90.0, 91.0, 92.0, 90.5], [89.0, 90.5, 91.0, 90.0])
    assert out["a"]["tests"]["b"]["p"] == pytest.approx(ref.pvalue)
    real = {"a": {"val_mean": 1.0}, "b": {"val_mean": 3.0}, "c": {"val_mean": 2.0}}
    agree = order_agreement(real, out)
    assert agree["real_order"] == ["b", "c", "a"]
    assert agree["surrogate_order"] == ["a", "b", "c"]
    assert agree["kendall_tau"] == pytest.approx(
        stats.kendalltau([1, 3, 2], [91, 90, 81]).statistic
    )
    assert agree["same_top"] is False
    sim["b"]["surrogate"]["seeds"] = [1, 2, 3, 5]
    with pytest.raises(ValueError, match="different seeds"):
        surrogate_summary(sim, ["b"], 0.95, 0.5)


def test_noise_floor_gives_the_detectable_differences(summary):
    noise = {
        "val_sd": 5.0,
        "test_sd": 6.0,
        "val_sd_best": 0.5,
        "test_sd_best": 0.7,
        "val_sd_random": 7.0,
    }
    out = noise_floor(noise, summary, ["b"], 3, 200, 0.05)
    # The best configurations' sd, not the random ones' (unstable settings swing by points):
    # (t_.975,4 + t_.8,4) * 0.5 * sqrt(2/3)
    t4 = stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)
    assert out["sd"] == 0.5 and out["test_sd_top"] == 0.7
    assert out["detectable_real"] == pytest.approx(t4 * 0.5 * np.sqrt(2 / 3))
    noise["val_sd_best"] = float("nan")
    assert noise_floor(noise, summary, ["b"], 3, 200, 0.05)["sd"] == 5.0
    assert out["detectable_surrogate"] < out["detectable_real"]
    d = np.subtract(A, B)
    t2 = stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)
    assert out["observed"]["a vs b"] == pytest.approx(t2 * d.std(ddof=1) / np.sqrt(3))


def test_qtable_analysis_pairs_learning_with_the_frozen_table():
    q = {
        "features": ["lr", "p2", "p3"],
        "importance": {"lr": 0.6, "p2": 0.1, "p3": 0.3},
        "start": 25,
        "variants": {
            "hhnas": {
                "rho": [1.0, 0.5, 0.5, float("nan")],
                "mean_frequency": {"lr": 0.5, "p2": 0.1, "p3": 0.3},
            },
            "random-mutation": {
                "rho": [0.0, -0.5, 0.5, 0.0],
                "mean_frequency": {"lr": 0.3, "p2": 0.3, "p3": 0.3},
            },
        },
    }
    table, raw = qtable_table(q)
    assert table["Feature"].tolist() == ["lr", "p3", "p2"]
    assert raw["per_variant"]["hhnas"]["n"] == 3
    assert raw["per_variant"]["hhnas"]["mean_rho"] == pytest.approx(2 / 3)
    diff = raw["against_frozen"]["hhnas"]  # seeds 1-3 (seed 4 is NaN for hhnas)
    assert diff["n"] == 3 and diff["mean_diff"] == pytest.approx((1.0 + 1.0 + 0.0) / 3)
    assert "random-mutation" not in raw["against_frozen"]


def test_notes_carry_the_measured_numbers_and_no_ranking(summary):
    doc = {
        "dataset": "toy",
        "settings": {"alpha": 0.05},
        "variants": summary,
        "surrogate": {
            "seeds": 200,
            "fidelity": {
                "choice": "extra-trees",
                "reason": "highest mean CV R² (0.91)",
                "n_holdout": 40,
                "holdout": {
                    "val": {
                        "r2": 0.8,
                        "spearman": 0.85,
                        "mae": 0.004,
                        "per_model": {"1": {"mae": 0.006, "n": 12}, "3": {"mae": 0.002, "n": 28}},
                    }
                },
            },
            "order": {
                "surrogate_order": ["a", "b"],
                "real_order": ["a", "b"],
                "kendall_tau": 1.0,
                "same_top": True,
            },
        },
        "noise": {
            "sd": 0.25,
            "test_sd_top": 0.35,
            "val_sd": 0.31,
            "test_sd": 0.42,
            "detectable_real": 0.41,
            "detectable_surrogate": 0.09,
            "observed": {"a vs b": 12.5},
        },
        "qtable": {
            "importance": {"lr": 0.7, "p2": 0.3},
            "per_variant": {"a": {"mean_rho": 0.2, "ci": [0.1, 0.3], "n": 200}},
            "against_frozen": {
                "a": {"mean_diff": 0.05, "ci_low": -0.01, "ci_high": 0.11, "p": 0.12}
            },
        },
    }
    notes = study_notes(json.loads(json.dumps(doc)))
    text = " ".join(notes)
    assert "R² 0.800, Spearman 0.850, mean absolute error 0.40 points" in text
    assert "Kendall's tau 1.00; same top variant: yes" in text
    assert "a difference below 0.41 points cannot be seen" in text
    assert "a vs b 12.50 points" in text
    assert "a mean rho 0.20 (95 % t-CI [0.10, 0.30], n 200)" in text
    assert "(per template: M1 0.60 (n 12); M3 0.20 (n 28))" in text
    assert "raw p 0.120: not distinguishable from the frozen Q-table" in text
    assert "highest mean best" not in text and "order:" not in text


def test_dataset_notes_count_the_capped_training_rows():
    from hhnas.config.sections import Dataset
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
    ds = Dataset(
        "h8", "csv", min_questions_per_class=10, max_questions_per_class=None, max_train_per_class=8
    )
    notes = _dataset_entry("h8", counts, ds)["notes"]
    assert (
        "1685 training rows left out by max_train_per_class=8 (validation and test kept)" in notes
    )


def test_simulated_curves_are_seeds_by_iterations():
    sim = {
        "a": {"surrogate": {**_sim([90.0, 91.0], [1, 2]), "curves": [[80.0, 90.0], [85.0, 91.0]]}}
    }
    arr = simulated_curves(sim)["a"]
    assert arr.shape == (2, 2) and arr[:, -1].tolist() == [90.0, 91.0]
