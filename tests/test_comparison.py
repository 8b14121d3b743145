"""Variant comparison: table cells, best-so-far curves and figures from hand-made metrics files."""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT
from snakemake.iocontainers import Namedlist

from hhnas.reporting.comparison import (
    COLUMNS,
    as_paths,
    best_so_far,
    best_so_far_curves,
    comparison_table,
    iterations_to_fraction,
    mean_sd,
    plot_best_so_far,
    write_comparison_table,
)

SCRIPT = ROOT / "scripts" / "comparison.py"

# variant -> experiment -> [(model, val_acc, test_acc, seconds, job_seconds)], iterations 0..;
# val_acc None = failed candidate; job_seconds None = key absent (an old metrics file).
HHNAS = {
    1: [
        (1, 0.80, 0.78, 1.0, 10.0),
        (4, 0.90, 0.88, 2.0, 20.0),  # first to reach the best: its test acc is reported
        (2, 0.90, 0.95, 3.0, 30.0),  # ties the best with a higher test acc: must not win
        (3, 0.85, 0.80, 4.0, 40.0),
    ],
    2: [
        (1, 0.70, 0.69, 1.0, 10.0),
        (2, None, None, 1.0, 5.0),  # failed
        (3, 0.792, 0.79, 1.0, 15.0),  # exactly 0.99 x final best 0.80: reaches it at 3
        (5, 0.80, 0.81, 1.0, 20.0),
    ],
}
RANDOM = {
    1: [
        (6, 0.60, 0.60, 1.5, 9.0),
        (7, 0.70, 0.70, 2.5, 9.0),
        (8, 0.74, 0.71, 3.0, 9.0),  # 0.74 < 0.99 x 0.75 = 0.7425: not yet
        (1, 0.75, 0.74, 1.0, 9.0),
    ],
    2: [
        (2, 0.50, 0.50, 2.0, 9.0),
        (2, 0.5346, 0.53, 2.0, 9.0),  # 0.99 x 0.54 is 0.5346000000000001 in floats: reaches
        (2, 0.52, 0.60, 2.0, 9.0),
        (2, 0.54, 0.55, 2.5, None),  # no job_seconds: the whole variant uses seconds
    ],
}


def _record(variant: str, exp: int, it: int, row: tuple, dataset: str = "spider") -> dict:
    model, val, test, seconds, job = row
    failed = val is None
    rec = {
        "dataset": dataset,
        "experiment": exp,
        "iteration": it,
        "model": model,
        "params": {"learning_rate": 0.001},
        "status": "failed" if failed else "ok",
        "error": "RuntimeError: boom" if failed else None,
        "val_acc": 0.0 if failed else val,
        "test_acc": 0.0 if failed else test,
        "best_epoch": None if failed else 2,
        "seconds": seconds,
        "n_params": None if failed else 100,
        "variant": variant,
        "objective": 0.0 if failed else val,
    }
    if job is not None:
        rec["job_seconds"] = job
    return rec


def _write(root: Path, variant: str, runs: dict[int, list[tuple]], **kw) -> list[str]:
    paths = []
    for exp, rows in runs.items():
        for it, row in enumerate(rows):
            path = root / "search" / variant / f"exp{exp}" / f"metrics_{it}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_record(variant, exp, it, row, **kw)))
            paths.append(str(path))
    return paths[::-1]  # reversed: the module has to sort


def _baseline(root: Path, name: str, val: float, test: float, seconds: float | None) -> str:
    data = {"name": name, "val_acc": val, "test_acc": test, "extra": 1}
    if seconds is not None:
        data["seconds"] = seconds
    path = root / "baselines" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture()
def metrics(tmp_path: Path) -> dict[str, list[str]]:
    # Deliberately not alphabetical: the given order must be kept.
    return {
        "random": _write(tmp_path, "random", RANDOM),
        "hhnas": _write(tmp_path, "hhnas", HHNAS),
    }


@pytest.fixture()
def baselines(tmp_path: Path) -> list[str]:
    return [
        _baseline(tmp_path, "tfidf-logreg", 0.72, 0.70, 3.25),
        _baseline(tmp_path, "mlp", 0.655, 0.6449, None),
    ]


# variant, exp, iterations, best val, test at best, iters to 99 %, failed, wall, field, model
EXPECTED = [
    ["random", "EXP1", "4", "75.00", "74.00", "4", "0", "8.00", "seconds", "M1"],
    ["random", "EXP2", "4", "54.00", "55.00", "2", "0", "8.50", "seconds", "M2"],
    [
        "random",
        "all",
        "4.00 ± 0.00",
        "64.50 ± 14.85",  # mean(75, 54), stdev = 21 / sqrt(2)
        "64.50 ± 13.44",  # mean(74, 55), stdev = 19 / sqrt(2)
        "3.00 ± 1.41",
        "0.00 ± 0.00",
        "8.25 ± 0.35",
        "seconds",
        "M1",
    ],
    ["hhnas", "EXP1", "4", "90.00", "88.00", "2", "0", "100.00", "job_seconds", "M4"],
    ["hhnas", "EXP2", "4", "80.00", "81.00", "3", "1", "50.00", "job_seconds", "M5"],
    [
        "hhnas",
        "all",
        "4.00 ± 0.00",
        "85.00 ± 7.07",
        "84.50 ± 4.95",
        "2.50 ± 0.71",
        "0.50 ± 0.71",
        "75.00 ± 35.36",
        "job_seconds",
        "M4",
    ],
    ["tfidf-logreg", None, None, "72.00", "70.00", None, None, "3.25", "seconds", None],
    ["mlp", None, None, "65.50", "64.49", None, None, None, "seconds", None],
]


# --- table ----------------------------------------------------------------------------------


def test_comparison_table_every_cell(metrics, baselines) -> None:
    table = comparison_table(metrics, baselines)
    assert (
        list(table.columns)
        == COLUMNS
        == [
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
    )
    assert table.values.tolist() == EXPECTED


def test_all_failed_experiment_and_single_experiment(tmp_path: Path) -> None:
    runs = {1: [(3, None, None, 1.0, 4.0), (8, None, None, 1.0, 6.0)]}
    table = comparison_table({"macro-only": _write(tmp_path, "macro-only", runs)}, [])
    assert table.values.tolist() == [
        ["macro-only", "EXP1", "2", None, None, None, "2", "10.00", "job_seconds", None],
        ["macro-only", "all", "2.00 ± –", None, None, None, "2.00 ± –", "10.00 ± –"]
        + ["job_seconds", None],
    ]


def test_missing_seconds_gives_missing_wall_time(tmp_path: Path) -> None:
    paths = _write(tmp_path, "random", {1: [(1, 0.5, 0.5, None, None), (1, 0.6, 0.6, 2.0, None)]})
    row = comparison_table({"random": paths}, []).iloc[0]
    assert (row["Wall Time (s)"], row["Time Field"]) == (None, "seconds")


def test_input_errors(tmp_path: Path, metrics, baselines) -> None:
    with pytest.raises(ValueError, match="given as variant 'hhnas'"):
        comparison_table({"hhnas": metrics["random"]}, [])
    with pytest.raises(ValueError, match="repeat a variant"):
        comparison_table(metrics, [_baseline(tmp_path, "hhnas", 0.5, 0.5, 1.0)])
    with pytest.raises(ValueError, match="repeat a variant"):
        comparison_table(metrics, baselines + baselines)
    other = _write(tmp_path / "o", "optuna-tpe", {1: [(1, 0.5, 0.5, 1.0, 1.0)]}, dataset="x")
    with pytest.raises(ValueError, match="different datasets"):
        comparison_table({**metrics, "optuna-tpe": other}, [])
    with pytest.raises(ValueError, match="'random' has no metrics"):
        comparison_table({"random": []}, [])
    pct = _baseline(tmp_path, "pct", 72.0, 0.7, 1.0)
    with pytest.raises(ValueError, match="pct.json"):
        comparison_table(metrics, [pct])
    bad = metrics["hhnas"][0]
    rec = json.loads(Path(bad).read_text())
    Path(bad).write_text(json.dumps({**rec, "job_seconds": "12"}))
    with pytest.raises(ValueError, match="job_seconds must be a number"):
        comparison_table(metrics, [])


def test_write_comparison_table(metrics, baselines, tmp_path: Path) -> None:
    stem = tmp_path / "out" / "comparison"
    written = write_comparison_table(comparison_table(metrics, baselines), str(stem))
    assert written == [f"{stem}.csv", f"{stem}.md", f"{stem}.tex"]
    csv = Path(f"{stem}.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0] == (
        "Variant,Exp,Iterations,Best Val Acc (%),Test Acc at Best (%),Iters to 99% of Best,"
        "Failed,Wall Time (s),Time Field,Best Model"
    )
    assert csv[3] == (
        "random,all,4.00 ± 0.00,64.50 ± 14.85,64.50 ± 13.44,3.00 ± 1.41,0.00 ± 0.00,"
        "8.25 ± 0.35,seconds,M1"
    )
    assert csv[-1] == "mlp,,,65.50,64.49,,,,seconds,"  # missing cells are empty in CSV
    md = Path(f"{stem}.md").read_text(encoding="utf-8")
    assert "85.00 ± 7.07" in md and "| mlp " in md and "–" in md
    tex = Path(f"{stem}.tex").read_text(encoding="utf-8")
    assert "±" not in tex and tex.isascii()
    assert r"hhnas & all & 4.00 $\pm$ 0.00 & 85.00 $\pm$ 7.07 &" in tex
    assert r"tfidf-logreg & -- & -- & 72.00 & 70.00 & -- & -- & 3.25 & seconds & -- \\" in tex


# --- helpers --------------------------------------------------------------------------------


def test_best_so_far_and_iterations_to_fraction() -> None:
    curve = best_so_far([0.0, 0.5, 0.4, 0.0, 0.9], [False, True, True, False, True])
    assert curve[0] != curve[0]  # NaN before the first success, not the failed 0.0
    assert curve[1:] == [0.5, 0.5, 0.5, 0.9]
    assert iterations_to_fraction(curve) == 5
    assert iterations_to_fraction(curve, fraction=0.5) == 2
    assert iterations_to_fraction([0.5346, 0.54]) == 1  # float slack, see EPS comment
    assert iterations_to_fraction(best_so_far([0.0], [False])) is None
    assert iterations_to_fraction([]) is None


def test_mean_sd_format() -> None:
    assert mean_sd([90.0, 80.0]) == "85.00 ± 7.07"
    assert mean_sd([1.0, 2.0, 6.0]) == "3.00 ± 2.65"  # sample sd: sqrt(7), not sqrt(14/3)
    assert mean_sd([12.346]) == "12.35 ± –"
    assert mean_sd([5.0, math.nan, None]) == "5.00 ± –"
    assert mean_sd([]) is None and mean_sd([math.nan]) is None


def test_as_paths() -> None:
    assert as_paths("a/b.json") == ["a/b.json"]
    assert as_paths(Path("a/b.json")) == ["a/b.json"]
    assert as_paths(["x", Path("y")]) == ["x", "y"]
    assert as_paths(None) == []


# --- figure ---------------------------------------------------------------------------------


def test_best_so_far_curves_failed_and_truncation(metrics, tmp_path: Path) -> None:
    short = {1: HHNAS[1], 2: HHNAS[2][:3]}
    runs = {1: [(1, None, None, 1.0, 1.0), (1, 0.6, 0.6, 1.0, 1.0)], 2: RANDOM[1]}
    curves, notes = best_so_far_curves(
        {
            **metrics,
            "short": _write(tmp_path / "s", "short", short),
            "late": _write(tmp_path / "l", "late", runs),
        }
    )
    assert list(curves) == ["random", "hhnas", "short", "late"]
    np.testing.assert_allclose(
        curves["hhnas"], [[80.0, 90.0, 90.0, 90.0], [70.0, 70.0, 79.2, 80.0]], rtol=0, atol=1e-9
    )
    assert curves["random"].shape == (2, 4)
    np.testing.assert_allclose(curves["short"], [[80.0, 90.0, 90.0], [70.0, 70.0, 79.2]])
    assert np.isnan(curves["late"][0, 0]) and curves["late"][0, 1] == pytest.approx(60.0)
    assert curves["late"].shape == (2, 2)
    assert notes == [
        "hhnas: 1 failed candidate(s) never count as best",
        "short: experiments have 3-4 iterations; cut to the shortest (3)",
        "short: 1 failed candidate(s) never count as best",
        "late: experiments have 2-4 iterations; cut to the shortest (2)",
        "late: 1 failed candidate(s) never count as best",
    ]


def test_plot_best_so_far_deterministic(metrics, baselines, tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        png, svg = tmp_path / run / "cmp.png", tmp_path / run / "cmp.svg"
        plot_best_so_far(metrics, str(png), str(svg), "Variants on spider", baselines)
        assert png.read_bytes().startswith(b"\x89PNG")
        outputs.append((png.read_bytes(), svg.read_bytes()))
    assert outputs[0] == outputs[1]
    # Run-dependent metadata must be absent, not merely equal within one second.
    assert b"Software" not in outputs[0][0] and b"<dc:date>" not in outputs[0][1]
    svg = outputs[0][1].decode()
    for text in ("random (n=2)", "hhnas (n=2)", "tfidf-logreg (baseline)", "mlp (baseline)"):
        assert text in svg
    assert "hhnas: 1 failed candidate(s) never count as best" in svg
    assert "Best-so-far validation accuracy (%)" in svg
    # Without baselines the figure still renders, and differs.
    png, svg_path = tmp_path / "c.png", tmp_path / "c.svg"
    plot_best_so_far(metrics, str(png), str(svg_path), "Variants on spider")
    assert "baseline" not in svg_path.read_text() and svg_path.read_bytes() != outputs[0][1]


# --- adapter --------------------------------------------------------------------------------


def test_snakemake_adapter(metrics, baselines, tmp_path: Path) -> None:
    out = tmp_path / "results" / "comparison"
    mutation = _write(tmp_path / "m", "random-mutation", {1: HHNAS[1]})
    sm = SimpleNamespace(
        scriptdir=str(SCRIPT.parent),
        input=Namedlist(
            fromdict={
                "metrics_hhnas": metrics["hhnas"],
                "metrics_random-mutation": mutation,
                "baselines": baselines,
            }
        ),
        output=Namedlist(
            fromdict={
                "table_csv": f"{out}/table.csv",
                "table_md": f"{out}/table.md",
                "table_tex": f"{out}/table.tex",
                "figure_png": f"{out}/figure.png",
                "figure_svg": f"{out}/figure.svg",
            }
        ),
        params=SimpleNamespace(variants=["random-mutation", "hhnas"], title="Spider variants"),
        log=[str(tmp_path / "logs" / "comparison.log")],
    )
    runpy.run_path(str(SCRIPT), init_globals={"snakemake": sm})
    csv = (out / "table.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in csv[1:]] == ["random-mutation"] * 2 + ["hhnas"] * 3 + [
        "tfidf-logreg",
        "mlp",
    ]
    assert (out / "figure.png").exists() and "Spider variants" in (out / "figure.svg").read_text()
    sm.params.variants = ["hhnas", "optuna-tpe"]
    # job_log turns an explained error into its message and exit status 1, no traceback.
    with pytest.raises(SystemExit):
        runpy.run_path(str(SCRIPT), init_globals={"snakemake": sm})
    assert "no metrics_optuna-tpe" in Path(sm.log[0]).read_text()
