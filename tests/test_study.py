"""`make study` on the tiny config: the real snakemake, every variant on two datasets, then the
report embedding the study. The numbers in the study's summary are recomputed here from the
metrics files and checked against scipy.stats."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import make_workdir, run_snakemake  # noqa: E402

VARIANTS = ["hhnas", "random-mutation", "hhnas-literal", "q-mean-best"]
DATASETS = ["spider", "spider-heldout"]
STUDY = {
    "datasets": DATASETS,
    "variants": VARIANTS,
    "reference": ["random-mutation"],
    "bootstrap": 500,
}


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wd = make_workdir(tmp_path_factory.mktemp("study"), {"study": STUDY})
    run_snakemake(wd, "--", "results/study.html")
    return wd


def _best_val(wd: Path, dataset: str, variant_dir: str) -> list[float]:
    out = []
    for exp in (1, 2):
        accs = [
            json.loads(p.read_text())
            for p in (wd / "results" / dataset / "search" / variant_dir / f"exp{exp}").glob(
                "metrics_*.json"
            )
        ]
        out.append(max(m["val_acc"] for m in accs if m["status"] == "ok") * 100)
    return out


@pytest.mark.slow
def test_study_shares_files_and_reports_every_variant(study_run: Path) -> None:
    wd = study_run
    html = (wd / "results" / "study.html").read_text()
    for v in VARIANTS:
        assert v in html
    for d in DATASETS:
        # q-mean-best is the default search: it runs no job of its own.
        assert not (wd / "results" / d / "search" / "q-mean-best").exists()
        assert (wd / "results" / d / "search" / "hhnas-literal" / "exp2" / "state_2.json").is_file()
        table = (wd / "results" / "study" / d / "study.csv").read_text()
        assert [line.split(",")[0] for line in table.splitlines()[1:]] == VARIANTS


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_study_numbers_match_the_metrics_and_scipy(study_run: Path, dataset: str) -> None:
    wd = study_run
    summary = json.loads((wd / "results" / "study" / dataset / "summary.json").read_text())
    dirs = {"q-mean-best": "hhnas"}
    best = {v: _best_val(wd, dataset, dirs.get(v, v)) for v in VARIANTS}
    for v in VARIANTS:
        got = summary["variants"][v]
        assert got["best_val"] == pytest.approx(best[v])
        lo, hi = got["val_ci"]
        assert lo <= np.mean(best[v]) <= hi
    test = summary["variants"]["hhnas-literal"]["tests"]["random-mutation"]
    ref = stats.ttest_rel(best["hhnas-literal"], best["random-mutation"])
    assert test["mean_diff"] == pytest.approx(
        np.mean(best["hhnas-literal"]) - np.mean(best["random-mutation"])
    )
    if np.isnan(ref.pvalue):
        assert test["p_t"] is None or np.isnan(test["p_t"]) or test["p_t"] in (0.0, 1.0)
    else:
        assert test["p_t"] == pytest.approx(ref.pvalue)
    # The Q-learning variants' final P(s) sit beside the importances of every mutable feature.
    imp = summary["importance"]
    assert set(imp["importance"]) == {
        "p2",
        "p3",
        "learning_rate",
        "criterion_num",
        "layer_size1",
        "layer_size2",
        "dropout_rate",
        "kernel_size",
    }
    assert set(imp["final_p"]) == {"hhnas", "random-mutation", "hhnas-literal", "q-mean-best"}
    assert all(0 < p <= 0.5 + 1e-12 for p in imp["final_p"]["hhnas-literal"].values())


@pytest.mark.slow
def test_report_embeds_a_present_study(study_run: Path) -> None:
    wd = study_run
    local = yaml.safe_load((wd / "local.yaml").read_text())
    local.pop("study")
    (wd / "local.yaml").write_text(yaml.safe_dump(local))
    run_snakemake(wd, "--", "results/report.html")
    html = (wd / "results" / "report.html").read_text()
    assert 'href="study.html"' in html
    assert "Study: variants under one budget (spider)" in html
