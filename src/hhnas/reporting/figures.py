"""Per-model validation-accuracy trends (paper's Figure 3 = Model 4, Figure 4 = Model 2)."""

from __future__ import annotations

import io

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hhnas.io import write_bytes
from hhnas.reporting.tables import select_dataset

# Fixed salt and text-as-text make the SVG ids and glyphs independent of run and machine.
_RC = {"svg.hashsalt": "hhnas-am", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
_PALETTE = matplotlib.colormaps["tab10"].colors


def plot_model_trend(
    df: pd.DataFrame,
    model: int,
    out_png: str,
    out_svg: str,
    title: str,
    dataset: str | None = None,
) -> None:
    """Validation accuracy (%) vs search iteration of ``model``, one line per experiment.

    Failed candidates are not drawn (their 0.0 is a crash, not an accuracy); a note counts
    them. A model never evaluated gives an empty plot saying so. With ``dataset=None`` the
    metrics must hold a single dataset.
    """
    data = select_dataset(df, dataset)
    with matplotlib.rc_context(_RC):
        fig = _draw(data, model, title)
        png, svg = io.BytesIO(), io.BytesIO()
        # Date/Software metadata would differ between runs or matplotlib versions.
        fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    write_bytes(out_png, png.getvalue())
    write_bytes(out_svg, svg.getvalue())


def _draw(data: pd.DataFrame, model: int, title: str) -> Figure:
    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rows = data[data["model"] == model]
    ok = rows[rows["status"] == "ok"]
    for exp, group in ok.groupby("experiment", sort=True):
        group = group.sort_values("iteration")
        ax.plot(
            group["iteration"],
            group["val_acc"] * 100.0,
            marker="o",
            color=_PALETTE[(int(exp) - 1) % len(_PALETTE)],
            label=f"EXP{exp}",
        )
    _axes(ax, data, title, has_lines=not ok.empty)
    footnote = _annotate(fig, ax, rows, ok)
    # Leave room under the axes for the footnote so it never covers a data point.
    fig.tight_layout(rect=(0, 0.05, 1, 1) if footnote else (0, 0, 1, 1))
    return fig


def _annotate(fig: Figure, ax: Axes, rows: pd.DataFrame, ok: pd.DataFrame) -> bool:
    """Centre note on an empty plot, footnote for failures; True when a footnote was added."""
    if rows.empty or ok.empty:
        note = "not evaluated" if rows.empty else f"all {len(rows)} evaluation(s) failed"
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="0.35")
        ax.set_ylim(0, 100)
        return False
    n_failed = len(rows) - len(ok)
    if n_failed:
        fig.text(
            0.99,
            0.01,
            f"{n_failed} failed evaluation(s) not plotted",
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.35",
        )
    return bool(n_failed)


def _axes(ax: Axes, data: pd.DataFrame, title: str, has_lines: bool) -> None:
    ax.set_title(title)
    ax.set_xlabel("Search iteration")
    ax.set_ylabel("Validation accuracy (%)")
    # Same x range for every model so the figures can be compared side by side.
    if not data.empty:
        ax.set_xlim(data["iteration"].min() - 0.5, data["iteration"].max() + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if has_lines:
        ax.legend(title="Experiment", loc="best")
