"""The study (`make study`, docs/study.md): does adaptive mutation beat plain search?

Per dataset, every variant ran the same experiments (same seeds) for the same iterations. This
module turns their metrics and final states into:

* a table: per variant, best validation accuracy and its test accuracy (mean ± sd and a
  percentile-bootstrap CI of the mean over experiments), iterations to 99 % of the final best,
  failed candidates, wall time; and a paired test of each variant against each reference
  variant, experiment by experiment (same seed index): the mean difference, the paired t-test's
  p and the exact sign-flip permutation test's p;
* best-so-far curves, the mean over experiments with a bootstrap CI band;
* which parameters mattered: Optuna's fANOVA importances over every candidate of the dataset,
  beside the mutation probabilities P(s) each Q-learning variant held at the end of its
  experiments, and their Spearman rank correlation;
* accuracy against cost (trainable parameters), every candidate, with each variant's Pareto
  front.

Variants are compared on validation accuracy; test accuracy is reported, never used to choose.
A variant that shares another's files (hhnas.config.shared_dirs) reads them under that name.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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
from hhnas.reporting.importance import final_mutation_probabilities, param_importances
from hhnas.reporting.study_stats import (
    bootstrap_ci,
    mean_sd,
    paired_t_test,
    pareto_front,
    sign_flip_test,
)
from hhnas.search.space import SearchSpace


def load_study(
    metrics: Mapping[str, Sequence[str]], dirs: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    """variant -> its metrics (all experiments); `dirs` names the variant whose files it reads."""
    return {v: load_variant(dirs.get(v, v), list(paths)) for v, paths in metrics.items()}


def experiments(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per experiment (ascending): the comparison's numbers (hhnas.reporting.comparison)."""
    field = JOB_SECONDS if df[JOB_SECONDS].notna().all() else SECONDS
    out = []
    for exp, group in df.groupby("experiment", sort=True):
        out.append({"experiment": int(exp), **experiment_stats(group, field)})
    return out


def _ms(values: Sequence[float], digits: int = 2) -> str | None:
    if not values:
        return None
    m, sd = mean_sd(values)
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def _column(stats: list[dict[str, Any]], key: str, scale: float = 1.0) -> list[float]:
    return [s[key] * scale for s in stats if s[key] is not None]


def paired(
    a: list[dict[str, Any]], b: list[dict[str, Any]], key: str = "best_val"
) -> dict[str, Any] | None:
    """`key` (in %) of a minus b over the experiments both have and both finished."""
    bv = {s["experiment"]: s[key] for s in b}
    pairs = [
        (s[key] * 100, bv[s["experiment"]] * 100)
        for s in a
        if s[key] is not None and bv.get(s["experiment"]) is not None
    ]
    if len(pairs) < 2:
        return None
    x, y = [p[0] for p in pairs], [p[1] for p in pairs]
    t = paired_t_test(x, y)
    flip = sign_flip_test(x, y)
    return {"n": len(pairs), "mean_diff": t["mean_diff"], "p_t": t["p"], "p_flip": flip["p"]}


def summarise(
    frames: Mapping[str, pd.DataFrame],
    reference: Sequence[str],
    n_boot: int,
    level: float,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """variant -> raw numbers: per-experiment stats, means, CIs and paired tests."""
    per = {v: experiments(df) for v, df in frames.items()}
    out: dict[str, dict[str, Any]] = {}
    for v, stats in per.items():
        val, test = _column(stats, "best_val", 100.0), _column(stats, "test_at_best", 100.0)
        entry: dict[str, Any] = {
            "experiments": stats,
            "best_val": val,
            "test_at_best": test,
            "val_mean": mean_sd(val)[0] if val else None,
            "val_ci": list(bootstrap_ci(val, n_boot, level, seed)) if val else None,
            "test_mean": mean_sd(test)[0] if test else None,
            "test_ci": list(bootstrap_ci(test, n_boot, level, seed)) if test else None,
            "tests": {},
        }
        for ref in reference:
            if ref != v and ref in per:
                entry["tests"][ref] = paired(stats, per[ref])
        out[v] = entry
    return out


def study_table(
    summary: Mapping[str, Mapping[str, Any]], reference: Sequence[str], level: float
) -> pd.DataFrame:
    """One row per variant; every cell a pre-formatted string (None where undefined)."""
    pct = f"{round(level * 100)} % CI"
    rows = []
    for v, entry in summary.items():
        stats = entry["experiments"]
        row: dict[str, Any] = {
            "Variant": v,
            "Exp": str(len(stats)),
            "Best Val (%)": _ms(entry["best_val"]),
            f"Val {pct}": _fmt_ci(entry["val_ci"]),
            "Test at Best (%)": _ms(entry["test_at_best"]),
            f"Test {pct}": _fmt_ci(entry["test_ci"]),
            "Iters to 99%": _ms(_column(stats, "to_99"), 1),
            "Failed": _ms(_column(stats, "failed"), 1),
            "Time (s)": _ms(_column(stats, "wall"), 0),
        }
        for ref in reference:
            t = entry["tests"].get(ref)
            row[f"Val diff vs {ref} (pts)"] = None if t is None else f"{t['mean_diff']:+.2f}"
            row[f"p vs {ref} (t / sign-flip)"] = (
                None if t is None else f"{_p(t['p_t'])} / {_p(t['p_flip'])}"
            )
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)


def _fmt_ci(ci: Sequence[float] | None) -> str | None:
    return None if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


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


def curve_band(arr: np.ndarray, n_boot: int, level: float, seed: int) -> np.ndarray:
    """(2 x iterations): the bootstrap CI of the mean at each iteration (NaN where some
    experiment has no success yet)."""
    band = np.full((2, arr.shape[1]), np.nan)
    for i in range(arr.shape[1]):
        col = arr[:, i]
        if not np.isnan(col).any():
            band[:, i] = bootstrap_ci(col.tolist(), n_boot, level, seed)
    return band


def _save(fig: Figure, out_png: str, out_svg: str) -> None:
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    write_bytes(out_png, png.getvalue())
    write_bytes(out_svg, svg.getvalue())


def plot_curves(
    frames: Mapping[str, pd.DataFrame],
    out_png: str,
    out_svg: str,
    title: str,
    n_boot: int,
    level: float,
    seed: int,
) -> None:
    """Mean best-so-far per variant with its bootstrap CI band; the y axis starts a few points
    below the lowest final mean (the differences are what the figure is for)."""
    data = curves(frames)
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
            band = curve_band(arr, n_boot, level, seed)
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
            f"band: {round(level * 100)} % bootstrap CI of the mean over experiments; "
            "y axis zoomed (earlier iterations run off the bottom)",
            fontsize=7,
            color="0.35",
        )
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        _save(fig, out_png, out_svg)


def plot_accuracy_cost(
    frames: Mapping[str, pd.DataFrame], out_png: str, out_svg: str, title: str
) -> list[dict[str, Any]]:
    """Every successful candidate's validation accuracy against its trainable parameters, and
    each variant's Pareto front (fewer parameters, higher accuracy). Returns the fronts."""
    fronts = []
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


# --- importances ----------------------------------------------------------------------------


def candidates(paths: Sequence[str]) -> list[dict[str, Any]]:
    """macro, params and validation accuracy of every successful candidate in `paths`."""
    out = []
    for path in paths:
        rec = read_json(path)
        if rec.get("status") == "ok":
            out.append({"macro": rec["macro"], "params": rec["params"], "accuracy": rec["val_acc"]})
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when one side is constant."""
    rx, ry = pd.Series(list(x)).rank().to_numpy(), pd.Series(list(y)).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def importance_table(
    metric_paths: Sequence[str],
    states: Mapping[str, Sequence[str]],
    space: SearchSpace,
    max_prob: Mapping[str, float],
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows: mutable features. Columns: the fANOVA importance over every candidate in
    `metric_paths`, then per Q-learning variant the mean over its experiments of P(s) in its
    final states. Returns the formatted table and the raw numbers (with Spearman's rho of
    importance against each variant's P(s))."""
    imp = param_importances(candidates(metric_paths), space, seed=seed)
    names = list(imp)
    probs: dict[str, list[float]] = {}
    for variant, paths in states.items():
        per_exp = [
            final_mutation_probabilities(read_json(p)["state"], max_prob[variant]) for p in paths
        ]
        per_exp = [p for p in per_exp if p]
        if per_exp:
            probs[variant] = [float(np.mean([p[n] for p in per_exp])) for n in names]
    table = pd.DataFrame(
        {
            "Parameter": names,
            "fANOVA importance": [f"{imp[n]:.3f}" for n in names],
            **{f"P(s) {v}": [f"{x:.3f}" for x in vals] for v, vals in probs.items()},
        },
        dtype=object,
    )
    raw = {
        "importance": imp,
        "final_p": {v: dict(zip(names, vals, strict=True)) for v, vals in probs.items()},
        "spearman": {v: spearman([imp[n] for n in names], vals) for v, vals in probs.items()},
    }
    return table, raw


# --- one dataset's outputs ------------------------------------------------------------------


def write_dataset_study(
    dataset: str,
    metrics: Mapping[str, Sequence[str]],
    states: Mapping[str, Sequence[str]],
    dirs: Mapping[str, str],
    search_cfg: Mapping[str, Any],
    max_prob: Mapping[str, float],
    settings: Mapping[str, Any],
    out: Mapping[str, str],
) -> dict[str, Any]:
    """Every study output of one dataset; returns (and writes to out['summary']) the raw numbers.

    `settings`: reference, bootstrap, level, seed (config `study`). `out`: table (stem of
    .csv/.md/.tex), importance (stem), curves_png/svg, cost_png/svg, summary.
    """
    from hhnas.io import write_json
    from hhnas.reporting.comparison import write_comparison_table
    from hhnas.reporting.tables import write_table
    from hhnas.search.space import space_from_config

    reference = list(settings["reference"])
    n_boot, level, seed = (
        int(settings["bootstrap"]),
        float(settings["level"]),
        int(settings["seed"]),
    )
    frames = load_study(metrics, dirs)
    summary = summarise(frames, reference, n_boot, level, seed)
    write_comparison_table(study_table(summary, reference, level), out["table"])
    plot_curves(
        frames,
        out["curves_png"],
        out["curves_svg"],
        f"Best-so-far validation accuracy ({dataset})",
        n_boot,
        level,
        seed,
    )
    fronts = plot_accuracy_cost(
        frames, out["cost_png"], out["cost_svg"], f"Accuracy against cost ({dataset})"
    )
    # Each directory once: a variant sharing another's files adds no candidates.
    own = {dirs.get(v, v): paths for v, paths in metrics.items()}
    all_paths = [p for paths in own.values() for p in paths]
    imp_table, imp = importance_table(
        all_paths, states, space_from_config(dict(search_cfg)), max_prob, seed
    )
    write_table(imp_table, out["importance"])
    result = {
        "dataset": dataset,
        "variants": summary,
        "importance": imp,
        "pareto": fronts,
        "candidates": len(all_paths),
    }
    write_json(out["summary"], result)
    return result
