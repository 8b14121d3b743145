"""Search variants side by side: one table and one best-so-far figure for one dataset.

A *variant* is one search strategy or ablation (``hhnas``, ``random-mutation``, ``random``,
``optuna-tpe``, ``macro-only``, ...), run for E experiments x N iterations with one metrics
file per (experiment, iteration). Inputs are ``{variant: [metrics paths of all its
experiments]}`` in the order to show, plus plain baselines' JSON files
``{"name", "val_acc", "test_acc", "seconds", ...}``.

Rules shared by the table and the figure:

* Iterations of an experiment are taken in iteration order and counted from 1 (the
  workflow numbers them from 0; the count is what a reader compares).
* Failed candidates (status "failed", accuracy 0.0) count as iterations and in ``Failed``,
  but never raise the best-so-far: their 0.0 is a crash, not an accuracy (same rule as
  :mod:`hhnas.reporting.tables`). Before an experiment's first successful candidate its
  best-so-far is undefined.
* Variants are compared on validation accuracy ``val_acc``, never on the ``objective`` a
  variant maximised (which differs from ``val_acc`` when a cost-penalised reward is set).
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hhnas.io import read_json, write_bytes, write_text
from hhnas.reporting.metrics import load_metrics
from hhnas.reporting.records import ExperimentStats, Row
from hhnas.reporting.tables import MISSING, write_table

if TYPE_CHECKING:
    from hhnas.baselines.evaluation import BaselineResult

COLUMNS = [
    "Variant",
    "Exp",
    "Iterations",
    "Best Val Acc (%)",
    "Test Acc at Best (%)",
    "Iters to 99% of Best",
    "Failed",
    "Wall Time (s)",
    "Time Field",
    "Best Model",
]
SUMMARY_EXP = "all"
FRACTION_OF_BEST = 0.99
JOB_SECONDS = "job_seconds"
SECONDS = "seconds"
# Absolute slack on "best-so-far >= 0.99 x final best": 0.99 * 0.54 is 0.5346000000000001 in
# binary floating point, so a candidate at exactly 0.5346 would otherwise not "reach" it.
_EPS = 1e-12

# Same settings as figures.py: fixed SVG id salt and text kept as text make the bytes
# independent of run and machine.
_RC = {"svg.hashsalt": "hhnas-am", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
_PALETTE = matplotlib.colormaps["tab10"].colors


# --- small pure helpers ---------------------------------------------------------------------


def best_so_far(val_acc: Sequence[float], ok: Sequence[bool]) -> list[float]:
    """Running maximum of ``val_acc`` over the successful entries; NaN before the first one."""
    out, best = [], math.nan
    for value, good in zip(val_acc, ok, strict=True):
        if good and (math.isnan(best) or value > best):
            best = float(value)
        out.append(best)
    return out


def iterations_to_fraction(
    curve: Sequence[float], fraction: float = FRACTION_OF_BEST
) -> int | None:
    """1-based number of iterations after which ``curve`` first reaches ``fraction`` x its end.

    ``curve`` is a best-so-far series (non-decreasing, NaN before the first success); its
    last value is the experiment's final best. None when no iteration succeeded.
    """
    if not curve or math.isnan(curve[-1]):
        return None
    target = fraction * curve[-1] - _EPS
    return next(i for i, v in enumerate(curve, start=1) if not math.isnan(v) and v >= target)


def mean_sd(values: Iterable[float]) -> str | None:
    """``"<mean> ± <sd>"`` with 2 decimals; sd is the sample standard deviation (ddof=1).

    A single value has no sample sd and shows ``"<value> ± –"``; no value gives None (a
    missing cell). Missing values (None/NaN) are left out before counting.
    """
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return None
    sd = f"{statistics.stdev(vals):.2f}" if len(vals) > 1 else MISSING
    return f"{statistics.fmean(vals):.2f} ± {sd}"


def as_paths(value: str | Path | Iterable[str | Path] | None) -> list[str]:
    """Snakemake input entry -> list of paths (a lone path is not split into characters)."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [str(value)]
    return [str(v) for v in value]


def _pct(fraction: float) -> str:
    return f"{fraction * 100.0:.2f}"


# --- loading --------------------------------------------------------------------------------


def load_variant(variant: str, paths: list[str]) -> pd.DataFrame:
    """load_metrics plus ``job_seconds`` (NaN where absent); checks the ``variant`` key."""
    if not paths:
        raise ValueError(f"variant {variant!r} has no metrics files")
    df = load_metrics(paths)
    datasets = sorted(df["dataset"].unique())
    if len(datasets) > 1:
        raise ValueError(f"variant {variant!r}: metrics hold several datasets {datasets}")
    extra = {}
    for path in paths:
        data = read_json(path)
        named = data.get("variant")
        if named is not None and named != variant:
            raise ValueError(f"{path}: metrics of variant {named!r} given as variant {variant!r}")
        job = data.get(JOB_SECONDS)
        if job is not None and (
            isinstance(job, bool) or not isinstance(job, (int, float)) or not job >= 0
        ):
            raise ValueError(f"{path}: {JOB_SECONDS} must be a number >= 0, got {job!r}")
        extra[(data["experiment"], data["iteration"])] = math.nan if job is None else float(job)
    keys = zip(df["experiment"], df["iteration"], strict=True)
    df[JOB_SECONDS] = [extra[key] for key in keys]
    return df


def _load_all(metrics: dict[str, list[str]]) -> dict[str, pd.DataFrame]:
    if not metrics:
        raise ValueError("no variants to compare")
    frames = {variant: load_variant(variant, list(paths)) for variant, paths in metrics.items()}
    datasets = {v: str(df["dataset"].iloc[0]) for v, df in frames.items()}
    if len(set(datasets.values())) > 1:
        raise ValueError(f"variants come from different datasets: {datasets}")
    return frames


def _load_baseline(path: str) -> BaselineResult:
    data = read_json(path)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: baseline file must hold a JSON object")
    missing = [key for key in ("name", "val_acc", "test_acc") if key not in data]
    if missing:
        raise ValueError(f"{path}: baseline file lacks key(s) {', '.join(missing)}")
    for key in ("val_acc", "test_acc"):
        value = data[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{path}: {key} must be a fraction in [0, 1], got {value!r}")
    return data


def _load_baselines(paths: list[str], variants: Iterable[str]) -> list[BaselineResult]:
    baselines = [_load_baseline(str(p)) for p in paths]
    names = [str(b["name"]) for b in baselines]
    clash = sorted((set(names) & set(variants)) | {n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"baseline name(s) {clash} repeat a variant or another baseline")
    return baselines


# --- table ----------------------------------------------------------------------------------


def experiment_stats(group: pd.DataFrame, field: str) -> ExperimentStats:
    """Numbers of one experiment (None where undefined), before formatting."""
    group = group.sort_values("iteration", kind="mergesort")
    ok = (group["status"] == "ok").tolist()
    curve = best_so_far(group["val_acc"].tolist(), ok)
    good = group[group["status"] == "ok"]
    best = None
    if not good.empty:
        # idxmax returns the first row holding the max: ties go to the earliest iteration.
        best = good.loc[good["val_acc"].idxmax()]
    times = group[field]
    return {
        "iterations": len(group),
        "best_val": None if best is None else float(best["val_acc"]),
        "test_at_best": None if best is None else float(best["test_acc"]),
        "to_99": iterations_to_fraction(curve),
        "failed": int((group["status"] == "failed").sum()),
        # A missing time would make the sum an undercount: show the cell as missing instead.
        "wall": None if times.isna().any() else float(times.sum()),
        "model": None if best is None else int(best["model"]),
    }


def _variant_rows(variant: str, df: pd.DataFrame) -> list[Row]:
    # job_seconds only when every file of the variant has it, so experiments stay comparable.
    field = JOB_SECONDS if df[JOB_SECONDS].notna().all() else SECONDS
    rows: list[Row] = []
    stats: list[ExperimentStats] = []
    for exp, group in df.groupby("experiment", sort=True):
        s = experiment_stats(group, field)
        stats.append(s)
        rows.append(
            {
                "Variant": variant,
                "Exp": f"EXP{exp}",
                "Iterations": str(s["iterations"]),
                "Best Val Acc (%)": None if s["best_val"] is None else _pct(s["best_val"]),
                "Test Acc at Best (%)": (
                    None if s["test_at_best"] is None else _pct(s["test_at_best"])
                ),
                "Iters to 99% of Best": None if s["to_99"] is None else str(s["to_99"]),
                "Failed": str(s["failed"]),
                "Wall Time (s)": None if s["wall"] is None else f"{s['wall']:.2f}",
                "Time Field": field,
                "Best Model": None if s["model"] is None else f"M{s['model']}",
            }
        )

    def col(key: str, scale: float = 1.0) -> list[float]:
        return [math.nan if s[key] is None else s[key] * scale for s in stats]

    ok = df[df["status"] == "ok"]
    overall = None
    if not ok.empty:
        order = ok.sort_values(
            ["val_acc", "experiment", "iteration"], ascending=[False, True, True], kind="mergesort"
        )
        overall = int(order.iloc[0]["model"])
    rows.append(
        {
            "Variant": variant,
            "Exp": SUMMARY_EXP,
            "Iterations": mean_sd(col("iterations")),
            "Best Val Acc (%)": mean_sd(col("best_val", 100.0)),
            "Test Acc at Best (%)": mean_sd(col("test_at_best", 100.0)),
            "Iters to 99% of Best": mean_sd(col("to_99")),
            "Failed": mean_sd(col("failed")),
            "Wall Time (s)": mean_sd(col("wall")),
            "Time Field": field,
            "Best Model": None if overall is None else f"M{overall}",
        }
    )
    return rows


def _baseline_row(data: BaselineResult) -> Row:
    seconds = data.get(SECONDS)
    return {
        "Variant": str(data["name"]),
        "Exp": None,
        "Iterations": None,
        "Best Val Acc (%)": _pct(data["val_acc"]),
        "Test Acc at Best (%)": _pct(data["test_acc"]),
        "Iters to 99% of Best": None,
        "Failed": None,
        "Wall Time (s)": None if seconds is None else f"{float(seconds):.2f}",
        "Time Field": SECONDS,
        "Best Model": None,
    }


def comparison_table(metrics: dict[str, list[str]], baselines: list[str]) -> pd.DataFrame:
    """Variants side by side; every cell is a pre-formatted string, or None when missing.

    ``metrics`` maps variant -> its metrics files (all experiments), in display order;
    ``baselines`` are the plain baselines' JSON files, shown after the variants in the
    given order. Columns are :data:`COLUMNS`. Per variant, one row per experiment (``Exp``
    ``EXP<e>``, ascending) and then one summary row (``Exp`` ``all``):

    * ``Iterations``: metrics files of the experiment (failed candidates included).
    * ``Best Val Acc (%)``: max ``val_acc`` over its successful candidates.
    * ``Test Acc at Best (%)``: ``test_acc`` of the first iteration reaching that max.
    * ``Iters to 99% of Best``: 1-based count of iterations after which the best-so-far
      ``val_acc`` first reaches 0.99 x the experiment's final best (inclusive).
    * ``Failed``: candidates with status "failed".
    * ``Wall Time (s)``: sum over the experiment's files of ``job_seconds`` (the whole
      iteration job) when every file of the *variant* has it, else of ``seconds`` (candidate
      training only); ``Time Field`` names the field used. Missing when a summed value is.
    * ``Best Model``: model (``M1``..``M8``) of the candidate giving ``Best Val Acc``.

    Summary row: each numeric column is ``"<mean> ± <sd>"`` over the experiments, 2 decimals,
    sample sd (ddof=1); a single experiment gives ``"<mean> ± –"``; experiments where the
    value is missing are left out (all missing: missing cell). Its ``Best Model`` is the
    model of the variant's best candidate overall (ties: earliest experiment, iteration).

    Baseline rows: ``Variant`` is the baseline's ``name``; ``Best Val Acc`` / ``Test Acc at
    Best`` its ``val_acc`` / ``test_acc``; ``Wall Time`` its ``seconds``; the rest missing.
    Percentages have 2 decimals; counts are integers.
    """
    frames = _load_all(metrics)
    rows = [row for variant, df in frames.items() for row in _variant_rows(variant, df)]
    rows += [_baseline_row(b) for b in _load_baselines(as_paths(baselines), frames)]
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def write_comparison_table(table: pd.DataFrame, stem: str) -> list[str]:
    """``stem.csv``/``.md``/``.tex`` via :func:`write_table`; ``±`` becomes ``$\\pm$`` in LaTeX.

    The LaTeX writer keeps the table ASCII (it writes the en dash as ``--``); ``±`` is the one
    other non-ASCII character this table uses.
    """
    written = write_table(table, stem)
    tex = Path(f"{stem}.tex")
    text = tex.read_text(encoding="utf-8")
    if "±" in text:
        write_text(tex, text.replace("±", r"$\pm$"))
    return written


# --- figure ---------------------------------------------------------------------------------


def best_so_far_curves(
    metrics: dict[str, list[str]],
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per variant an (experiments x iterations) array of best-so-far validation accuracy (%).

    Experiments of unequal length are cut to the shortest one of that variant; the returned
    notes say so, and count failed candidates (never counted in a best-so-far).
    """
    curves, notes = {}, []
    for variant, df in _load_all(metrics).items():
        per_exp = []
        for _, group in df.groupby("experiment", sort=True):
            group = group.sort_values("iteration", kind="mergesort")
            ok = (group["status"] == "ok").tolist()
            per_exp.append([v * 100.0 for v in best_so_far(group["val_acc"].tolist(), ok)])
        lengths = sorted({len(c) for c in per_exp})
        if len(lengths) > 1:
            notes.append(
                f"{variant}: experiments have {lengths[0]}-{lengths[-1]} iterations; "
                f"cut to the shortest ({lengths[0]})"
            )
        curves[variant] = np.array([c[: lengths[0]] for c in per_exp], dtype=float)
        n_failed = int((df["status"] == "failed").sum())
        if n_failed:
            notes.append(f"{variant}: {n_failed} failed candidate(s) never count as best")
    return curves, notes


def plot_best_so_far(
    metrics: dict[str, list[str]],
    out_png: str,
    out_svg: str,
    title: str,
    baselines: list[str] | None = None,
) -> None:
    """Best-so-far validation accuracy (%) vs iteration (1-based), one color per variant.

    Line: mean over the variant's experiments; band: min-max over them (both only where
    every experiment has had a successful candidate). Colors follow tab10 in the variants'
    order; baselines are dashed horizontal lines at their validation accuracy, in the colors
    after the variants'. Notes under the axes report truncation and failed candidates.
    PNG and SVG bytes depend only on the inputs.
    """
    curves, notes = best_so_far_curves(metrics)
    base = _load_baselines(as_paths(baselines), curves)
    with matplotlib.rc_context(_RC):
        fig = _draw(curves, base, notes, title)
        png, svg = io.BytesIO(), io.BytesIO()
        # Date/Software metadata would differ between runs or matplotlib versions.
        fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    write_bytes(out_png, png.getvalue())
    write_bytes(out_svg, svg.getvalue())


ZOOM_MARGIN = 3.0  # percentage points below the lowest final mean shown


def _zoom(ax: Axes, curves: dict[str, np.ndarray], base: list[BaselineResult]) -> list[str]:
    """Strategies usually end within a few points of each other: a 0-100 % axis would hide
    exactly the differences the figure is for. The y axis starts a few points below the lowest
    final mean; what lies below it is named in a note instead of squashing the rest."""
    finals = [
        float(np.nanmean(arr[:, -1])) for arr in curves.values() if not np.isnan(arr[:, -1]).all()
    ]
    if not finals:
        return []
    lo = max(0.0, min(finals) - ZOOM_MARGIN)
    hi = min(100.0, max(finals + [b["val_acc"] * 100.0 for b in base]) + 1.0)
    ax.set_ylim(lo, hi)
    below = [f"{b['name']} ({b['val_acc'] * 100:.1f} %)" for b in base if b["val_acc"] * 100 < lo]
    note = f"y axis from {lo:.1f} %: earlier iterations below it run off the bottom"
    return [note + (f"; baselines below it: {', '.join(below)}" if below else "")]


def _draw(
    curves: dict[str, np.ndarray], base: list[BaselineResult], notes: list[str], title: str
) -> Figure:
    fig = Figure(figsize=(7.2, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    longest = 1
    for i, (variant, arr) in enumerate(curves.items()):
        color = _PALETTE[i % len(_PALETTE)]
        x = np.arange(1, arr.shape[1] + 1)
        longest = max(longest, arr.shape[1])
        # NaN (no success yet in some experiment) leaves a gap instead of a made-up value.
        ax.plot(x, arr.mean(axis=0), color=color, label=f"{variant} (n={arr.shape[0]})")
        ax.fill_between(x, arr.min(axis=0), arr.max(axis=0), color=color, alpha=0.2, lw=0)
    for j, b in enumerate(base):
        color = _PALETTE[(len(curves) + j) % len(_PALETTE)]
        ax.axhline(b["val_acc"] * 100.0, color=color, ls="--", label=f"{b['name']} (baseline)")
    notes = notes + _zoom(ax, curves, base)
    ax.set_title(title)
    ax.set_xlabel("Search iteration")
    ax.set_ylabel("Best-so-far validation accuracy (%)")
    ax.set_xlim(0.5, longest + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if notes:
        fig.text(0.01, 0.01, "\n".join(notes), ha="left", va="bottom", fontsize=7, color="0.35")
    # Leave room under the axes for the notes so they never cover the plot.
    bottom = min(0.04 * len(notes), 0.3)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return fig
