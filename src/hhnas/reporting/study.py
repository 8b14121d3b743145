"""The study (`make study`, docs/study.md): does adaptive mutation beat plain search?

Per dataset this module turns three kinds of evidence into tables, figures and a summary:

* the confirmatory runs: every variant ran `study.experiments` experiments on seeds disjoint
  from the ones the default was chosen on. Per variant, the best validation accuracy per
  experiment and its test accuracy (mean ± sd, t-interval of the mean), iterations to 99 % of
  the final best, failed candidates, wall time; against each reference variant, the paired
  difference (experiment i of both shares its seed) with its t-interval, d_z, the paired
  t-test's raw p and the TOST p for equivalence within `study.margin`. The Holm adjustment over
  every reported comparison happens once all datasets are in (hhnas.reporting.study_conclusion).
* the surrogate benchmark (hhnas.study): the same numbers over hundreds of simulated seeds, the
  surrogate's fidelity, and whether it reproduces the confirmatory runs' order of the variants
  at their own seeds;
* the noise floor: the retrained configurations' seed-to-seed sd and the smallest difference
  each sample size can detect; and the Q-table analysis (does it mutate what matters?).

Variants are compared on validation accuracy; test accuracy is reported, never used to choose.
A variant that shares another's files (hhnas.config.shared_dirs) reads them under that name.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from hhnas.io import read_json, write_bytes
from hhnas.reporting.comparison import (
    _PALETTE,
    _RC,
    JOB_SECONDS,
    SECONDS,
    best_so_far,
    experiment_stats,
    load_variant,
)
from hhnas.reporting.records import (
    Experiment,
    OrderAgreement,
    PairedComparison,
    ParetoFront,
    QTableNumbers,
    Row,
    Sensitivity,
    StudyParams,
    StudySummary,
    VariantStats,
    VariantSummary,
)
from hhnas.reporting.study_stats import mean_sd, paired_comparison, pareto_front, t_interval
from hhnas.study.noise import detectable_difference, top_sd

if TYPE_CHECKING:
    from hhnas.study.jobs import QTableAnalysis, SurrogateStudy, VariantRuns
    from hhnas.study.noise import NoiseFloor


def load_study(
    metrics: Mapping[str, Sequence[str]], dirs: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    """variant -> its metrics (all experiments); `dirs` names the variant whose files it reads."""
    return {v: load_variant(dirs.get(v, v), list(paths)) for v, paths in metrics.items()}


def experiments(df: pd.DataFrame) -> list[Experiment]:
    """Per experiment (ascending): the comparison's numbers (hhnas.reporting.comparison)."""
    field = JOB_SECONDS if df[JOB_SECONDS].notna().all() else SECONDS
    out: list[Experiment] = []
    for exp, group in df.groupby("experiment", sort=True):
        out.append({"experiment": int(exp), **experiment_stats(group, field)})
    return out


def _ms(values: Sequence[float], digits: int = 2) -> str | None:
    if not values:
        return None
    m, sd = mean_sd(values)
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def _column(stats_: list[Experiment], key: str, scale: float = 1.0) -> list[float]:
    return [s[key] * scale for s in stats_ if s[key] is not None]


def _interval(values: Sequence[float], level: float) -> list[float] | None:
    return list(t_interval(values, level)) if len(values) > 1 else None


def compare(
    a: Sequence[float | None], b: Sequence[float | None], level: float, margin: float
) -> PairedComparison | None:
    """a minus b (in points) over the pairs where both are defined; None below 2 pairs."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if len(pairs) < 2:
        return None
    x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    return {**paired_comparison(x, y, level, margin), "level": level}


def variant_entry(
    best_val: Sequence[float | None], test: Sequence[float | None], level: float
) -> VariantStats:
    """Means and t-intervals of one variant's per-experiment (or per-seed) results (in %)."""
    val = [v for v in best_val if v is not None]
    tst = [v for v in test if v is not None]
    return {
        "best_val": list(best_val),
        "test_at_best": list(test),
        "val_mean": mean_sd(val)[0] if val else None,
        "val_sd": mean_sd(val)[1] if val else None,
        "val_ci": _interval(val, level),
        "test_mean": mean_sd(tst)[0] if tst else None,
        "test_ci": _interval(tst, level),
    }


def summarise(
    frames: Mapping[str, pd.DataFrame],
    reference: Sequence[str],
    level: float,
    margin: float,
) -> dict[str, VariantSummary]:
    """variant -> the confirmatory runs' numbers: per-experiment stats, means, t-intervals and
    the paired comparisons with each reference (validation accuracy, in points)."""
    per = {v: experiments(df) for v, df in frames.items()}
    by_exp = {v: {s["experiment"]: s for s in stats_} for v, stats_ in per.items()}
    exps = sorted(set().union(*(set(e) for e in by_exp.values())))

    def values(v: str, key: Literal["best_val", "test_at_best"]) -> list[float | None]:
        # None where the variant lacks the experiment or it had no successful candidate.
        found = [by_exp[v][e][key] if e in by_exp[v] else None for e in exps]
        return [None if x is None else x * 100.0 for x in found]

    out: dict[str, VariantSummary] = {}
    for v, stats_ in per.items():
        entry: VariantSummary = {
            "experiments": stats_,
            **variant_entry(values(v, "best_val"), values(v, "test_at_best"), level),
            "tests": {},
        }
        for ref in reference:
            if ref != v and ref in per:
                entry["tests"][ref] = compare(
                    values(v, "best_val"), values(ref, "best_val"), level, margin
                )
        out[v] = entry
    return out


def surrogate_summary(
    simulated: Mapping[str, VariantRuns],
    reference: Sequence[str],
    level: float,
    margin: float,
    key: Literal["surrogate", "at_real_seeds"] = "surrogate",
) -> dict[str, VariantSummary]:
    """The same numbers for the simulated searches (`key`: surrogate or at_real_seeds); seed j
    of every variant is the same experiment seed, so the comparisons pair by position."""
    out: dict[str, VariantSummary] = {}
    for v, sim in simulated.items():
        s = sim[key]
        entry: VariantSummary = {
            **variant_entry(s["best_val"], s["test_at_best"], level),
            "failed": _mean_or_none(s["failed"]),
            "tests": {},
        }
        for ref in reference:
            if ref != v and ref in simulated:
                if simulated[ref][key]["seeds"] != s["seeds"]:
                    raise ValueError(f"{v} and {ref} were simulated on different seeds")
                entry["tests"][ref] = compare(
                    s["best_val"], simulated[ref][key]["best_val"], level, margin
                )
        out[v] = entry
    return out


def _mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def order_agreement(
    real: Mapping[str, VariantStats], simulated: Mapping[str, VariantStats]
) -> OrderAgreement:
    """Does the surrogate, run at the confirmatory runs' own seeds, order the variants as the
    real runs did (by mean best validation accuracy)? Kendall's tau of the two orders and
    whether the top variant is the same."""
    names = [
        v
        for v in real
        if v in simulated
        and real[v]["val_mean"] is not None
        and simulated[v]["val_mean"] is not None
    ]
    r = [real[v]["val_mean"] for v in names]
    s = [simulated[v]["val_mean"] for v in names]
    tau = float(stats.kendalltau(r, s).statistic) if len(names) > 1 else math.nan
    return {
        "variants": names,
        "real_order": sorted(names, key=lambda v: -real[v]["val_mean"]),
        "surrogate_order": sorted(names, key=lambda v: -simulated[v]["val_mean"]),
        "kendall_tau": tau,
        "same_top": bool(names)
        and max(names, key=lambda v: real[v]["val_mean"])
        == max(names, key=lambda v: simulated[v]["val_mean"]),
    }


def _fmt_ci(ci: Sequence[float] | None) -> str | None:
    return None if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def _diff(t: PairedComparison | None) -> str | None:
    if t is None:
        return None
    return f"{t['mean_diff']:+.2f} [{t['ci_low']:+.2f}, {t['ci_high']:+.2f}], d_z {_num(t['d_z'])}"


def _num(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.2f}"


def study_table(
    summary: Mapping[str, VariantSummary],
    reference: Sequence[str],
    level: float,
    n_label: str = "Exp",
) -> pd.DataFrame:
    """One row per variant; every cell a pre-formatted string (None where undefined). The p
    values are raw: their Holm adjustment is in the conclusion table."""
    pct = f"{round(level * 100)} % t-CI"
    rows = []
    for v, entry in summary.items():
        val = [x for x in entry["best_val"] if x is not None]
        row: Row = {
            "Variant": v,
            n_label: str(len(val)),
            "Best Val (%)": _ms(val),
            f"Val {pct}": _fmt_ci(entry["val_ci"]),
            "Test at Best (%)": _ms([x for x in entry["test_at_best"] if x is not None]),
            f"Test {pct}": _fmt_ci(entry["test_ci"]),
        }
        if "experiments" in entry:
            stats_ = entry["experiments"]
            row["Iters to 99%"] = _ms(_column(stats_, "to_99"), 1)
            row["Failed"] = _ms(_column(stats_, "failed"), 1)
            row["Time (s)"] = _ms(_column(stats_, "wall"), 0)
        else:
            row["Failed"] = None if entry.get("failed") is None else f"{entry['failed']:.1f}"
        for ref in reference:
            t = entry["tests"].get(ref)
            row[f"Val diff vs {ref} (pts, {pct})"] = _diff(t)
            row[f"raw p vs {ref} (t / TOST)"] = (
                None if t is None else f"{_p(t['p'])} / {_p(t.get('p_tost'))}"
            )
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)


def noise_table(noise: NoiseFloor) -> pd.DataFrame:
    rows = []
    for c in noise["configurations"]:
        rows.append(
            {
                "Kind": c["kind"],
                "Model": None if c["model"] is None else f"M{c['model']}",
                "Search Val (%)": f"{c['search_val_acc']:.2f}",
                "Seeds": str(c["n"]),
                "Failed": str(c["failed"]),
                "Val (%)": _msd(c["val_mean"], c["val_sd"]),
                "Test (%)": _msd(c["test_mean"], c["test_sd"]),
            }
        )
    return pd.DataFrame(rows, dtype=object)


def _msd(mean: float, sd: float) -> str | None:
    if mean is None or math.isnan(mean):
        return None
    return f"{mean:.2f} ± {'–' if math.isnan(sd) else f'{sd:.2f}'}"


def noise_floor(
    noise: NoiseFloor,
    real: Mapping[str, VariantSummary],
    reference: Sequence[str],
    experiments_: int,
    seeds: int,
    alpha: float,
) -> Sensitivity:
    """What the study can see: the smallest difference in mean validation accuracy a two-sided
    t test at `alpha` detects with 80 % power, (a) from the retraining noise of the best
    configurations alone (a floor: a search's best-of-50 also varies with its path), at the
    confirmatory runs' n and at the surrogate's n, and (b) from the paired differences the
    confirmatory runs observed."""
    sd = top_sd(noise, "val")
    out: Sensitivity = {
        "sd": sd,
        "test_sd_top": top_sd(noise, "test"),
        "val_sd": noise["val_sd"],
        "test_sd": noise["test_sd"],
        "val_sd_best": noise.get("val_sd_best"),
        "val_sd_random": noise.get("val_sd_random"),
        "detectable_real": detectable_difference(sd, experiments_, alpha),
        "detectable_surrogate": detectable_difference(sd, seeds, alpha),
        "observed": {},
    }
    for v, entry in real.items():
        for ref, t in entry["tests"].items():
            if t is not None:
                out["observed"][f"{v} vs {ref}"] = detectable_difference(
                    t["sd_diff"], t["n"], alpha, paired_sd=True
                )
    return out


def qtable_table(q: QTableAnalysis) -> tuple[pd.DataFrame, QTableNumbers]:
    """Features by the surrogate's importance, beside how often each learning variant mutated
    them in the second half of its searches; the raw numbers add, per variant, the mean over
    seeds of Spearman's rho between the two (with its t-interval) and each learning variant's
    rho against random-mutation's, paired by seed (the frozen Q-table is the null)."""
    names = sorted(q["features"], key=lambda n: -q["importance"][n])
    variants = q["variants"]
    table = pd.DataFrame(
        {
            "Feature": names,
            "Surrogate importance": [f"{q['importance'][n]:.3f}" for n in names],
            **{
                f"Mutated (iter >= {q['start']}) {v}": [
                    f"{variants[v]['mean_frequency'][n]:.3f}" for n in names
                ]
                for v in variants
            },
        },
        dtype=object,
    )
    raw: QTableNumbers = {"per_variant": {}, "against_frozen": {}}
    for v, entry in variants.items():
        rho = [r for r in entry["rho"] if not math.isnan(r)]
        raw["per_variant"][v] = {
            "n": len(rho),
            "mean_rho": float(np.mean(rho)) if rho else math.nan,
            "ci": list(t_interval(rho)) if len(rho) > 1 else None,
        }
    frozen = variants.get("random-mutation")
    if frozen is not None:
        for v, entry in variants.items():
            if v == "random-mutation":
                continue
            pairs = [
                (a, b)
                for a, b in zip(entry["rho"], frozen["rho"], strict=True)
                if not (math.isnan(a) or math.isnan(b))
            ]
            if len(pairs) > 1:
                raw["against_frozen"][v] = paired_comparison(
                    [p[0] for p in pairs], [p[1] for p in pairs]
                )
    return table, raw


# --- curves ---------------------------------------------------------------------------------


def curves(frames: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """variant -> (experiments x iterations) best-so-far validation accuracy (%)."""
    out = {}
    for v, df in frames.items():
        per_exp = []
        for _, group in df.groupby("experiment", sort=True):
            group = group.sort_values("iteration", kind="mergesort")
            ok = (group["status"] == "ok").tolist()
            per_exp.append([x * 100.0 for x in best_so_far(group["val_acc"].tolist(), ok)])
        n = min(len(c) for c in per_exp)
        out[v] = np.array([c[:n] for c in per_exp], dtype=float)
    return out


def curve_band(arr: np.ndarray, level: float) -> np.ndarray:
    """(2 x iterations): the t-interval of the mean at each iteration (NaN where some
    experiment has no success yet)."""
    band = np.full((2, arr.shape[1]), np.nan)
    for i in range(arr.shape[1]):
        col = arr[:, i]
        if not np.isnan(col).any():
            band[:, i] = t_interval(col.tolist(), level)
    return band


def _save(fig: Figure, out_png: str, out_svg: str) -> None:
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    write_bytes(out_png, png.getvalue())
    write_bytes(out_svg, svg.getvalue())


def simulated_curves(simulated: Mapping[str, VariantRuns]) -> dict[str, np.ndarray]:
    """variant -> (seeds x iterations) best-so-far validation accuracy (%) of the surrogate
    benchmark's searches."""
    return {v: np.array(sim["surrogate"]["curves"], dtype=float) for v, sim in simulated.items()}


def plot_curves(
    data: Mapping[str, np.ndarray],
    out_png: str,
    out_svg: str,
    title: str,
    level: float,
    runs: str = "experiments",
) -> None:
    """Mean best-so-far per variant (`data`: runs x iterations, in %) with its t-interval band;
    the y axis starts a few points below the lowest final mean (the differences are what the
    figure is for)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.6, 4.8))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        finals = []
        for i, (v, arr) in enumerate(data.items()):
            color = _PALETTE[i % len(_PALETTE)]
            x = np.arange(1, arr.shape[1] + 1)
            mean = arr.mean(axis=0)
            finals.append(mean[-1])
            ax.plot(x, mean, color=color, label=f"{v} (n={arr.shape[0]})", lw=1.4)
            band = curve_band(arr, level)
            ax.fill_between(x, band[0], band[1], color=color, alpha=0.15, lw=0)
        good = [f for f in finals if not math.isnan(f)]
        if good:
            ax.set_ylim(max(0.0, min(good) - 3.0), min(100.0, max(good) + 1.0))
        ax.set_title(title)
        ax.set_xlabel("Search iteration")
        ax.set_ylabel("Best-so-far validation accuracy (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
        fig.text(
            0.01,
            0.01,
            f"band: {round(level * 100)} % t-interval of the mean over {runs}; "
            "y axis zoomed (earlier iterations run off the bottom)",
            fontsize=7,
            color="0.35",
        )
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        _save(fig, out_png, out_svg)


def plot_accuracy_cost(
    frames: Mapping[str, pd.DataFrame], out_png: str, out_svg: str, title: str
) -> list[ParetoFront]:
    """Every successful candidate's validation accuracy against its trainable parameters, and
    each variant's Pareto front (fewer parameters, higher accuracy). Returns the fronts."""
    fronts: list[ParetoFront] = []
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.6, 4.8))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        top = []
        for i, (v, df) in enumerate(frames.items()):
            color = _PALETTE[i % len(_PALETTE)]
            ok = df[(df["status"] == "ok") & df["n_params"].notna()]
            if ok.empty:
                continue
            cost = (ok["n_params"].astype(float) / 1e6).tolist()
            acc = (ok["val_acc"].astype(float) * 100).tolist()
            top.append(max(acc))
            ax.scatter(cost, acc, s=4, color=color, alpha=0.25, lw=0)
            idx = pareto_front(list(zip(cost, acc, strict=True)))
            fx, fy = [cost[j] for j in idx], [acc[j] for j in idx]
            ax.step(fx, fy, where="post", color=color, lw=1.4, label=v)
            ax.scatter(fx, fy, s=14, color=color)
            fronts.append({"variant": v, "front": [[a, b] for a, b in zip(fx, fy, strict=True)]})
        if top:
            ax.set_ylim(max(0.0, min(top) - 8.0), min(100.0, max(top) + 1.0))
        ax.set_title(title)
        ax.set_xlabel("Trainable parameters (millions)")
        ax.set_ylabel("Validation accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        _save(fig, out_png, out_svg)
    return fronts


# --- one dataset's outputs ------------------------------------------------------------------


def write_dataset_study(
    dataset: str,
    metrics: Mapping[str, Sequence[str]],
    dirs: Mapping[str, str],
    noise_path: str,
    surrogate_path: str,
    settings: StudyParams,
    out: Mapping[str, str],
) -> StudySummary:
    """Every study output of one dataset; returns (and writes to out['summary']) the raw numbers.

    `settings`: reference, level, margin, alpha (config `study`). `out`: table, surrogate,
    noise, qtable (stems of .csv/.md/.tex), curves_png/svg, surrogate_curves_png/svg,
    cost_png/svg, summary.
    """
    from hhnas.io import write_json
    from hhnas.reporting.comparison import write_comparison_table
    from hhnas.reporting.tables import write_table

    reference = list(settings["reference"])
    level, margin, alpha = (
        float(settings["level"]),
        float(settings["margin"]),
        float(settings["alpha"]),
    )
    frames = load_study(metrics, dirs)
    real = summarise(frames, reference, level, margin)
    write_comparison_table(study_table(real, reference, level), out["table"])
    sim: SurrogateStudy = read_json(surrogate_path)
    # The confirmatory variants first, in their order, so each keeps its colour in both figures.
    order = [v for v in metrics if v in sim["variants"]]
    order += [v for v in sim["variants"] if v not in order]
    sim["variants"] = {v: sim["variants"][v] for v in order}
    surrogate = surrogate_summary(sim["variants"], reference, level, margin)
    at_real = surrogate_summary(sim["variants"], reference, level, margin, "at_real_seeds")
    write_table(study_table(surrogate, reference, level, n_label="Seeds"), out["surrogate"])
    noise: NoiseFloor = read_json(noise_path)
    write_table(noise_table(noise), out["noise"])
    q_table, q_raw = qtable_table(sim["qtable"])
    write_table(q_table, out["qtable"])
    plot_curves(
        curves(frames),
        out["curves_png"],
        out["curves_svg"],
        f"Best-so-far validation accuracy, confirmatory runs ({dataset})",
        level,
    )
    plot_curves(
        simulated_curves(sim["variants"]),
        out["surrogate_curves_png"],
        out["surrogate_curves_svg"],
        f"Best-so-far validation accuracy, surrogate benchmark ({dataset})",
        level,
        runs="seeds",
    )
    fronts = plot_accuracy_cost(
        frames, out["cost_png"], out["cost_svg"], f"Accuracy against cost ({dataset})"
    )
    experiments_ = max(len(e["experiments"]) for e in real.values())
    result: StudySummary = {
        "dataset": dataset,
        "settings": {"reference": reference, "level": level, "margin": margin, "alpha": alpha},
        # A variant reading another's files repeats its numbers: not a comparison of its own.
        "aliases": {v: dirs[v] for v in metrics if dirs.get(v, v) != v},
        "variants": real,
        "surrogate": {
            "variants": surrogate,
            "seeds": len(sim["seeds"]),
            "iterations": sim["iterations"],
            "fidelity": sim["fidelity"],
            "noise_sd": sim["noise_sd"],
            "order": order_agreement(real, at_real),
        },
        "noise": noise_floor(noise, real, reference, experiments_, len(sim["seeds"]), alpha),
        "qtable": {**q_raw, "importance": sim["qtable"]["importance"]},
        "pareto": fronts,
        "candidates": sum(len(df) for df in frames.values()),
    }
    write_json(out["summary"], result)
    return result
