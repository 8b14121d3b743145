"""Reporting: tables, figures and HTML report from small hand-made metrics files."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from hhnas.config import load, merged
from hhnas.reporting.build import build_comparison_report, build_report
from hhnas.reporting.figures import plot_model_trend
from hhnas.reporting.html import (
    embed_image,
    git_commit,
    render_html,
    render_report,
    software_versions,
)
from hhnas.reporting.metrics import load_metrics
from hhnas.reporting.paper import TABLE1, TABLE3
from hhnas.reporting.tables import (
    best_candidate,
    best_per_model,
    table1,
    table2,
    table3,
    table_html,
    write_table,
)

TEMPLATE = ROOT / "report" / "template.html.j2"
BASELINE = {"val": 90.38, "test": 89.71}
PAPER = {"val": 98.21, "test": 97.78}

# (experiment, iteration, model, val_acc, test_acc); None accuracies mean a failed candidate.
SPIDER = [
    (1, 0, 1, 0.80, 0.79),
    (1, 1, 2, 0.85, 0.84),
    (1, 2, 1, 0.90, 0.88),
    (1, 3, 4, 0.92, 0.90),
    (1, 4, 1, 0.90, 0.95),  # ties EXP1/M1's max at iteration 2: Iter must stay 2
    (2, 0, 2, 0.70, 0.69),
    (2, 1, 2, None, None),  # failed: must not become EXP2/M2's min
    (2, 2, 4, 0.92, 0.99),  # ties best val with EXP1 it3 but has the max test: must not win
    (2, 3, 3, None, None),  # M3's only evaluation failed
    (2, 4, 2, 0.75, 0.74),
]
HELDOUT = [
    (1, 0, 1, 0.60, 0.61),
    (1, 1, 1, 0.70, 0.72),
    (1, 2, 2, 0.50, 0.52),
    (1, 3, 1, 0.99, 0.72),  # ties M1's max test at iteration 1
]


def _record(dataset: str, exp: int, it: int, model: int, val, test) -> dict:
    failed = val is None
    return {
        "version": 1,
        "dataset": dataset,
        "experiment": exp,
        "iteration": it,
        "model": model,
        "macro": [1, 1, 1],
        "params": {"learning_rate": 0.001, "layer_size1": 64 * model, "dropout_rate": 0.2},
        "mutated": ["dropout_rate"],
        "status": "failed" if failed else "ok",
        "error": "RuntimeError: CUDA out of memory" if failed else None,
        "val_acc": 0.0 if failed else val,
        "test_acc": 0.0 if failed else test,
        "best_epoch": None if failed else 3,
        "epochs": [],
        "seconds": 1.5,
        "n_params": None if failed else 1000 * model,
    }


def _write(directory: Path, dataset: str, rows: list[tuple]) -> list[str]:
    paths = []
    for exp, it, model, val, test in rows:
        path = directory / dataset / f"exp{exp}" / f"iter{it}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_record(dataset, exp, it, model, val, test)))
        paths.append(str(path))
    return paths


@pytest.fixture()
def paths(tmp_path: Path) -> list[str]:
    # Reversed so load_metrics has to sort.
    return (_write(tmp_path, "spider", SPIDER) + _write(tmp_path, "heldout", HELDOUT))[::-1]


@pytest.fixture()
def df(paths: list[str]) -> pd.DataFrame:
    return load_metrics(paths)


# --- metrics ------------------------------------------------------------------------------


def test_load_metrics_sorted_and_flattened(df: pd.DataFrame) -> None:
    assert len(df) == len(SPIDER) + len(HELDOUT)
    keys = list(zip(df["dataset"], df["experiment"], df["iteration"], strict=True))
    assert keys == sorted(keys)
    for col in ("learning_rate", "layer_size1", "dropout_rate", "error", "n_params"):
        assert col in df.columns
    spider = df[df["dataset"] == "spider"]
    assert spider["layer_size1"].tolist() == [64 * r[2] for r in sorted(SPIDER)]
    assert (spider["status"] == "failed").sum() == 2


def test_load_metrics_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_text('{"dataset": "spi')
    with pytest.raises(ValueError, match="truncated.json"):
        load_metrics([str(bad)])
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"dataset": "spider", "experiment": 1}))
    with pytest.raises(ValueError, match="partial.json"):
        load_metrics([str(partial)])
    with pytest.raises(FileNotFoundError, match="absent.json"):
        load_metrics([str(tmp_path / "absent.json")])


def test_load_metrics_rejects_percentages_and_duplicates(tmp_path: Path) -> None:
    rec = _record("spider", 1, 0, 1, 91.0, 0.9)
    pct = tmp_path / "pct.json"
    pct.write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="pct.json"):
        load_metrics([str(pct)])
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        path.write_text(json.dumps(_record("spider", 1, 0, 1, 0.5, 0.5)))
    with pytest.raises(ValueError, match="duplicate"):
        load_metrics([str(a), str(b)])


# --- tables -------------------------------------------------------------------------------


def test_table3_values(df: pd.DataFrame) -> None:
    t = table3(df, dataset="spider")
    assert list(t.columns) == [
        "Exp",
        "Model",
        "Max Acc (%)",
        "Min Acc (%)",
        "Iter",
        "Evaluated",
        "Failed",
    ]
    rows = {(r.Exp, r.Model): r for r in t.itertuples(index=False)}
    assert list(rows) == [
        ("EXP1", "M1"),
        ("EXP1", "M2"),
        ("EXP1", "M4"),
        ("EXP2", "M2"),
        ("EXP2", "M3"),
        ("EXP2", "M4"),
    ]
    expected = {  # max, min, iter, evaluated, failed
        ("EXP1", "M1"): (90.0, 80.0, 2, 3, 0),
        ("EXP1", "M2"): (85.0, 85.0, 1, 1, 0),
        ("EXP1", "M4"): (92.0, 92.0, 3, 1, 0),
        ("EXP2", "M2"): (75.0, 70.0, 4, 3, 1),
        ("EXP2", "M4"): (92.0, 92.0, 2, 1, 0),
    }
    for key, (mx, mn, it, n, nf) in expected.items():
        row = t.iloc[list(rows).index(key)]
        assert row["Max Acc (%)"] == pytest.approx(mx)
        assert row["Min Acc (%)"] == pytest.approx(mn)
        assert (row["Iter"], row["Evaluated"], row["Failed"]) == (it, n, nf)
    only_failed = t.iloc[list(rows).index(("EXP2", "M3"))]
    assert math.isnan(only_failed["Max Acc (%)"]) and pd.isna(only_failed["Iter"])
    assert (only_failed["Evaluated"], only_failed["Failed"]) == (1, 1)


def test_table1_uses_test_accuracy_with_tie_rule(df: pd.DataFrame) -> None:
    t = table1(df, dataset="heldout")
    assert t[["Exp", "Model"]].values.tolist() == [["EXP1", "M1"], ["EXP1", "M2"]]
    assert t["Max Acc (%)"].tolist() == pytest.approx([72.0, 52.0])
    assert t["Iter"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="several datasets"):
        table1(df)
    with pytest.raises(ValueError, match="no metrics for dataset 'spdier'"):
        table1(df, dataset="spdier")
    # The workflow passes one dataset's metrics and no name.
    heldout = df[df["dataset"] == "heldout"]
    pd.testing.assert_frame_equal(table1(heldout), t)


def test_paper_figures_sit_beside_ours_in_every_row(df: pd.DataFrame) -> None:
    t3 = table3(df, dataset="spider", paper=TABLE3)
    assert list(t3.columns)[-3:] == ["Paper Max Acc (%)", "Paper Min Acc (%)", "Paper Iter"]
    row = t3[(t3["Exp"] == "EXP2") & (t3["Model"] == "M4")].iloc[0]
    # the paper's Table 3, EXP2 M4: 97.11 max, 87.68 min, iteration 8
    assert (row["Paper Max Acc (%)"], row["Paper Min Acc (%)"], row["Paper Iter"]) == (
        97.11,
        87.68,
        8,
    )
    assert row["Max Acc (%)"] == pytest.approx(92.0)  # ours unchanged beside it
    t1 = table1(df, dataset="heldout", paper={(1, 1): (95.84, 14)})
    assert t1["Paper Max Acc (%)"].tolist()[0] == 95.84 and t1["Paper Iter"].tolist()[0] == 14
    # a row the paper has no figure for shows missing cells
    assert math.isnan(t1["Paper Max Acc (%)"].tolist()[1]) and pd.isna(t1["Paper Iter"][1])
    assert "Paper Max Acc (%)" not in table3(df, dataset="spider").columns


def test_paper_tables_hold_the_papers_numbers() -> None:
    text = (ROOT.parent / "shared" / "seeds" / "hhnas-am-paper.txt").read_text()
    for (exp, model), (mx, mn, it) in TABLE3.items():
        assert f"M{model}\t{mx:.2f}\t{mn:.2f}\t{it}" in text, (exp, model)
    for (exp, model), (mx, it) in TABLE1.items():
        assert f"M{model}\t{mx:.2f}\t{it}" in text, (exp, model)
    assert len(TABLE3) == 16 and len(TABLE1) == 8


def test_table2_best_by_validation_not_max_test(df: pd.DataFrame) -> None:
    best = best_candidate(df, dataset="spider")
    assert (best["experiment"], best["iteration"], best["model"]) == (1, 3, 4)
    t = table2(df, BASELINE, PAPER, dataset="spider")
    assert t["Metric"].tolist() == ["Validation", "Test"]
    assert t["Text-to-SQL (cited)"].tolist() == [90.38, 89.71]
    assert t["HHNAS-AM (paper)"].tolist() == [98.21, 97.78]
    # 90.00 is the chosen candidate's test accuracy; the max test (99.00) is elsewhere.
    assert t["HHNAS-AM (ours)"].tolist() == pytest.approx([92.0, 90.0])
    assert t.attrs["best_candidate"] == best


def test_best_per_model(df: pd.DataFrame) -> None:
    t = best_per_model(df, dataset="spider")
    assert t["Model"].tolist() == ["M1", "M2", "M3", "M4"]
    m1, m2, m3, m4 = (t.iloc[i] for i in range(4))
    assert (m1["Best Val Acc (%)"], m1["Test Acc (%)"], m1["Exp"], m1["Iter"]) == (
        pytest.approx(90.0),
        pytest.approx(88.0),
        "EXP1",
        2,
    )
    assert (m2["Exp"], m2["Iter"], m2["Evaluated"], m2["Failed"]) == ("EXP1", 1, 4, 1)
    assert math.isnan(m3["Best Val Acc (%)"]) and m3["Failed"] == 1
    assert (m4["Exp"], m4["Iter"], m4["Test Acc (%)"]) == ("EXP1", 3, pytest.approx(90.0))


def test_write_table_three_formats(df: pd.DataFrame, tmp_path: Path) -> None:
    stem = tmp_path / "out" / "table3"
    written = write_table(table3(df, dataset="spider"), str(stem))
    assert written == [f"{stem}.csv", f"{stem}.md", f"{stem}.tex"]
    csv = Path(f"{stem}.csv").read_text().splitlines()
    assert csv[0] == "Exp,Model,Max Acc (%),Min Acc (%),Iter,Evaluated,Failed"
    assert csv[1] == "EXP1,M1,90.00,80.00,2,3,0"
    md = Path(f"{stem}.md").read_text().splitlines()
    assert re.fullmatch(r"\| Exp\s+\| Model\s+\|\s+Max Acc \(%\) \|.*\|\s+Failed \|", md[0])
    assert "90.00" in md[2] and "–" in Path(f"{stem}.md").read_text()
    tex = Path(f"{stem}.tex").read_text()
    assert tex.startswith(r"\begin{tabular}{llrrrrr}")
    assert r"Exp & Model & Max Acc (\%) & Min Acc (\%) & Iter & Evaluated & Failed \\" in tex
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"EXP1 & M1 & 90.00 & 80.00 & 2 & 3 & 0 \\" in tex


# --- figures ------------------------------------------------------------------------------


def test_figures_deterministic_and_not_evaluated(df: pd.DataFrame, tmp_path: Path) -> None:
    svgs = []
    for run in ("a", "b"):
        png, svg = tmp_path / run / "fig3.png", tmp_path / run / "fig3.svg"
        plot_model_trend(df, 4, str(png), str(svg), "Figure 3: Model 4", dataset="spider")
        assert png.read_bytes().startswith(b"\x89PNG")
        svgs.append(svg.read_bytes())
    assert svgs[0] == svgs[1]
    assert b"EXP1" in svgs[0] and b"EXP2" in svgs[0]
    png, svg = tmp_path / "m8.png", tmp_path / "m8.svg"
    plot_model_trend(df, 8, str(png), str(svg), "Model 8", dataset="spider")
    assert png.exists() and b"not evaluated" in svg.read_bytes()


# --- html ---------------------------------------------------------------------------------


def _context(df: pd.DataFrame, png: Path) -> dict:
    t3 = table3(df, dataset="spider")
    return {
        "title": "HHNAS-AM report",
        "generated_at": "2024-01-01T00:00:00Z",
        "git_commit": "unknown",
        "software": software_versions(["python", "pandas", "no-such-package-hhnas"]),
        "config_yaml": "experiments: 2\niterations: 5\n",
        "datasets": [
            {
                "name": "spider",
                "n_classes": 20,
                "n_rows": 100,
                "splits": {"train": 70, "val": 15, "test": 15},
                "notes": ["synthetic"],
            }
        ],
        "tables": [{"title": "Table 3", "caption": "validation", "html": table_html(t3)}],
        "figures": [{"title": "Figure 3", "caption": "Model 4", "data_uri": embed_image(str(png))}],
        "choices": [{"key": "failed", "value": "excluded", "reason": "crash, not accuracy"}],
        "failed": df[df["status"] == "failed"][["experiment", "iteration", "error"]].to_dict(
            "records"
        ),
        "runtimes": [{"stage": "search", "seconds": 12.5}, {"stage": "report", "seconds": 1.0}],
        "notes": ["See https://example.org for the paper (text, not a link)."],
    }


def test_report_is_self_contained(df: pd.DataFrame, tmp_path: Path) -> None:
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    plot_model_trend(df, 4, str(png), str(svg), "Model 4", dataset="spider")
    out = tmp_path / "report" / "report.html"
    render_report(str(TEMPLATE), str(out), _context(df, png))
    html = out.read_text()
    assert "data:image/png;base64," in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "<table" in html and "EXP2" in html and "Max Acc (%)" in html
    assert "CUDA out of memory" in html and "not installed" in html and "13.5" in html
    assert '<td class="num">70</td>' in html  # nested split counts are shown


def test_report_rejects_external_resources_and_tolerates_empty_context(tmp_path: Path) -> None:
    bad = {"tables": [{"title": "x", "html": '<img src="https://example.org/a.png">'}]}
    with pytest.raises(ValueError, match="external"):
        render_report(str(TEMPLATE), str(tmp_path / "bad.html"), bad)
    assert not (tmp_path / "bad.html").exists()
    assert "No tables." in render_html(str(TEMPLATE), {})


def test_git_commit_outside_repo(tmp_path: Path) -> None:
    assert git_commit(str(tmp_path)) == "unknown"


# --- built report: captions come from report/*.rst -----------------------------------------


def _rst(name: str, dataset: str | None = None) -> str:
    text = (ROOT / "report" / f"{name}.rst").read_text(encoding="utf-8").strip()
    return text if dataset is None else text.replace("{{ snakemake.wildcards.dataset }}", dataset)


def _captions(page: str) -> dict[str, str]:
    """Heading -> the caption shown under it (tables and figures)."""
    found = re.findall(
        r'<h3>([^<]*)</h3>\s*(?:<img [^>]*>\s*)?<(?:p class="caption"|figcaption)>([^<]*)</',
        page,
    )
    return {html.unescape(h): html.unescape(c) for h, c in found}


def test_built_report_captions_are_the_rst_files(tmp_path: Path) -> None:
    metrics = {
        "spider": _write(tmp_path, "spider", SPIDER),
        "heldout": _write(tmp_path, "heldout", HELDOUT),
        "own": _write(tmp_path, "own", HELDOUT),
    }
    df = load_metrics(metrics["spider"])
    figures = []
    for stem, model in (("figure3", 4), ("model1", 1)):
        png = tmp_path / "figures" / f"{stem}.png"
        plot_model_trend(df, model, str(png), str(png.with_suffix(".svg")), stem)
        figures += [str(png), str(png.with_suffix(".svg"))]
    own_png = tmp_path / "own" / "figures" / "model1.png"
    plot_model_trend(
        load_metrics(metrics["own"]), 1, str(own_png), str(own_png.with_suffix(".svg")), "M1"
    )
    counts = {"classes": 2, "classes_raw": 3, "rows": 10, "rows_raw": 12}
    counts |= {"train": 6, "val": 2, "test": 2}
    inputs: dict = {"figures": figures, "own_own": [str(own_png)]}
    for name, paths in metrics.items():
        inputs[f"metrics_{name}"] = paths
        inputs[f"counts_{name}"] = str(tmp_path / f"counts_{name}.json")
        Path(inputs[f"counts_{name}"]).write_text(json.dumps(counts))
    raw = merged(ROOT / "config" / "config.yaml")
    raw["datasets"]["heldout"] = raw["datasets"]["spider-heldout"]
    raw["datasets"]["own"] = {"format": "csv", "path": "own.csv", "min_questions_per_class": 20}
    raw["run_datasets"] = list(metrics)
    raw["tables"] = {"spider": "spider", "heldout": "heldout"}
    raw["reference"]["paper"] = PAPER
    inputs["references"] = str(tmp_path / "references.yaml")
    measured = {
        "id": "elsewhere",
        "shown_in": "verdict",
        "text": "A measured fact from elsewhere.",
        "datasets": ["spider"],
        "split": "its split",
        "measured_by": "a session",
        "date": "2026-12-02",
        "machine": "unknown (not recorded)",
        "config": "c",
        "commit": "abc1234",
    }
    Path(inputs["references"]).write_text(json.dumps({"version": 1, "references": [measured]}))
    final, errors = _final_files(tmp_path)
    inputs["final_metrics_spider"], inputs["errors_spider"] = final, errors
    out = tmp_path / "report.html"
    build_report(load(raw), inputs, str(TEMPLATE), str(out), str(tmp_path))
    page = out.read_text()
    shown = _captions(page)
    assert shown["Final model (spider): the best candidate retrained and saved"] == _rst(
        "final_model", "spider"
    )
    assert shown["Error analysis of the final model (spider, test split)"] == _rst(
        "error_analysis", "spider"
    )
    assert shown["Most confused class pairs (spider, test split)"] == _rst(
        "confused_pairs", "spider"
    )
    verdict = page[page.index('<section id="verdict">') : page.index('<section id="datasets">')]
    # 50 % test against the paper's 97.78: 47.78 points below; top-3 100 %
    assert "reaches 50.00 % test accuracy" in verdict and "47.78 points below" in verdict
    # one of two test rows wrong, its class second: every error is a near miss
    assert "top-3 accuracy is 100.00 %: 100.0 % of its errors" in verdict
    assert (
        "Reference, not this run — measured by a session on 2026-12-02; machine: unknown (not "
        "recorded); config: c; commit: abc1234; data: spider, its split. A measured fact from "
        "elsewhere." in html.unescape(verdict)
    )
    # Table 2 carries the final model beside the search's best
    t2 = page[page.index("Table 2: comparison") :]
    assert "Final model (ours)" in t2[: t2.index("</table>")]
    assert shown["Table 3: validation accuracy per experiment and model (spider)"] == _rst("table3")
    assert shown["Table 1: test accuracy per experiment and model (heldout)"] == _rst("table1")
    assert shown["Table 2: comparison with the cited baseline and the paper (spider)"] == _rst(
        "table2"
    )
    assert shown["Figure 3 (spider)"] == _rst("figure3")
    assert shown["Model 1 (spider)"] == _rst("model_trend")
    assert shown["Validation accuracy per experiment and model (own)"] == _rst(
        "dataset_table", "own"
    )
    assert shown["Model 1 (own)"] == _rst("dataset_model_trend", "own")
    assert shown["Model 1 (own)"].startswith("Dataset own:")
    assert "{{" not in out.read_text()


def _final_files(tmp_path: Path) -> tuple[str, str]:
    """A final model's metrics and error analysis from hand-made probabilities."""
    import numpy as np

    from hhnas.final.evaluation import split_metrics
    from hhnas.reporting.errors import error_analysis

    probs = np.array([[0.6, 0.4], [0.7, 0.3]])
    labels = np.array([0, 1])
    metrics = {s: split_metrics(probs, labels, ["a", "b"]) for s in ("val", "test")}
    metrics["members"] = [
        {
            "model": 4,
            "experiment": 1,
            "iteration": 3,
            "params": {"learning_rate": 0.002},
            "search_val_acc": 0.5,
            "val_acc": 0.5,
            "test_acc": 0.5,
            "reproduced": True,
        }
    ]
    records = [
        {"id": i, "text": f"q{i}", "label": int(y), "split": "test"} for i, y in enumerate(labels)
    ]
    evaluation = {
        f"{s}_{k}": v
        for s in ("val", "test")
        for k, v in (("probs", probs), ("labels", labels), ("rows", np.arange(2)))
    }
    errors = error_analysis(
        records, {"classes": ["a", "b"], "schemas": [None, None]}, evaluation, 0.5, 5
    )
    paths = tmp_path / "final.json", tmp_path / "errors.json"
    paths[0].write_text(json.dumps(metrics))
    paths[1].write_text(json.dumps(errors))
    return str(paths[0]), str(paths[1])


def test_built_comparison_captions_are_the_rst_files(tmp_path: Path) -> None:
    png = tmp_path / "best_so_far.png"
    df = load_metrics(_write(tmp_path, "spider", SPIDER))
    plot_model_trend(df, 1, str(png), str(png.with_suffix(".svg")), "x")
    table_csv = tmp_path / "comparison.csv"
    table_csv.write_text("Variant,Exp,Iterations\nhhnas,EXP1,5\n")
    cfg = load(merged(ROOT / "config" / "config.yaml"))
    out = tmp_path / "comparison.html"
    inputs = {"table_csv": str(table_csv), "figure_png": str(png)}
    build_comparison_report(cfg, inputs, str(TEMPLATE), str(out), str(tmp_path))
    shown = _captions(out.read_text())
    assert shown["Search strategies, ablations and plain baselines under one budget"] == _rst(
        "comparison_table"
    )
    assert shown["Best-so-far validation accuracy per strategy"] == _rst("comparison_figure")
