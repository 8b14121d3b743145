"""`make study` on the tiny config: the real snakemake, confirmatory runs on fresh seeds, the
noise floor, the surrogate benchmark and the conclusion, then the report embedding the study.
The numbers in the summaries are recomputed here from the metrics files and checked against
scipy.stats, and the simulated searches against the real ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import make_workdir, run_snakemake, seed_features  # noqa: E402

from hhnas.config import load, merged  # noqa: E402
from hhnas.study.simulate import run_searches  # noqa: E402

VARIANTS = ["hhnas", "random-mutation", "q-mean-best"]
DATASETS = ["spider", "spider-heldout"]
EXPERIMENTS = 3
ITERATIONS = 10
STUDY = {
    "datasets": DATASETS,
    "variants": VARIANTS,
    "surrogate_variants": ["hhnas", "random-mutation", "hhnas-literal"],
    "reference": ["random-mutation"],
    "experiments": EXPERIMENTS,
    "surrogate": {"seeds": 6, "folds": 3, "holdout": 0.2},
    "noise": {"best": 2, "random": 1, "seeds": 3},
}
EXTRA = {"study": STUDY, "search": {"iterations": ITERATIONS}}


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory, feature_run: Path) -> Path:
    wd = seed_features(make_workdir(tmp_path_factory.mktemp("study"), EXTRA), feature_run)
    run_snakemake(wd, "--", "results/study.html")
    return wd


def _metrics(wd: Path, dataset: str, variant_dir: str) -> dict[int, list[dict]]:
    out = {}
    for exp in range(1, EXPERIMENTS + 1):
        where = wd / "results" / "study" / dataset / "search" / variant_dir / f"exp{exp}"
        out[exp] = [
            json.loads((where / f"metrics_{i}.json").read_text()) for i in range(ITERATIONS)
        ]
    return out


def _best_val(wd: Path, dataset: str, variant_dir: str) -> list[float]:
    return [
        max(m["val_acc"] for m in recs if m["status"] == "ok") * 100
        for recs in _metrics(wd, dataset, variant_dir).values()
    ]


@pytest.mark.slow
def test_confirmatory_runs_use_their_own_tree_and_seeds(study_run: Path) -> None:
    wd = study_run
    for d in DATASETS:
        # The main search's tree is not touched; q-mean-best is hhnas and runs no job.
        assert not (wd / "results" / d / "search").exists()
        base = wd / "results" / "study" / d / "search"
        assert sorted(p.name for p in base.iterdir()) == ["hhnas", "random-mutation"]
        for exp in range(1, EXPERIMENTS + 1):
            state = json.loads((base / "hhnas" / f"exp{exp}" / "state_0.json").read_text())
            # study.search_seed 1: seeds 1001.., disjoint from search.seed 0's 1..4.
            assert state["state"]["seed"] == 1000 + exp
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
        lo, hi = stats.t.interval(
            0.95, EXPERIMENTS - 1, loc=np.mean(best[v]), scale=stats.sem(best[v])
        )
        assert got["val_ci"] == pytest.approx([lo, hi])
    test = summary["variants"]["hhnas"]["tests"]["random-mutation"]
    d = np.array(best["hhnas"]) - np.array(best["random-mutation"])
    assert test["mean_diff"] == pytest.approx(d.mean())
    ref = stats.ttest_rel(best["hhnas"], best["random-mutation"])
    if np.isnan(ref.pvalue):
        assert np.isnan(test["p"]) or test["p"] in (0.0, 1.0)
    else:
        assert test["p"] == pytest.approx(ref.pvalue)
        assert test["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_noise_floor_and_surrogate_on_the_real_candidates(study_run: Path, dataset: str) -> None:
    wd = study_run
    base = wd / "results" / "study" / dataset
    noise = json.loads((base / "noise.json").read_text())
    assert [c["kind"] for c in noise["configurations"]] == ["best", "best", "random"]
    assert all(c["n"] + c["failed"] == 3 for c in noise["configurations"])
    assert (base / "surrogate_best_so_far.png").stat().st_size > 0
    sim = json.loads((base / "surrogate.json").read_text())
    assert set(sim["variants"]) == {"hhnas", "random-mutation", "hhnas-literal"}
    assert sim["seeds"] == [2001 + k for k in range(6)]
    assert sim["real_seeds"] == [1001, 1002, 1003]
    fid = sim["fidelity"]
    assert fid["choice"] in fid["cv"]
    assert fid["n_holdout"] >= 3 and fid["holdout"]["val"]["r2"] <= 1.0
    for v in sim["variants"].values():
        assert len(v["surrogate"]["best_val"]) == 6
        assert len(v["at_real_seeds"]["curves"][0]) == ITERATIONS
    assert sim["noise_sd"]["val"] == pytest.approx(noise["val_sd_best"])


@pytest.mark.slow
def test_a_strategy_fed_the_real_values_proposes_what_the_real_run_did(study_run: Path) -> None:
    """Only the evaluation is replaced: an evaluator that returns the real run's own results
    makes the unchanged strategy code propose the real candidates, iteration by iteration."""
    wd = study_run
    cfg = load(merged(wd / "config" / "config.yaml", wd / "local.yaml"))
    for variant in ("hhnas", "random-mutation"):
        real = _metrics(wd, "spider", variant)
        seeds = [1000 + e for e in real]

        def evaluate(it, cands, real=real, seeds=seeds):
            out = []
            for seed, cand in zip(seeds, cands, strict=True):
                rec = real[seed - 1000][it]
                assert cand["macro"] == rec["macro"] and cand["params"] == rec["params"]
                out.append({k: rec[k] for k in ("status", "val_acc", "test_acc")})
            return out

        traces = run_searches(cfg.study_search[variant], seeds, ITERATIONS, evaluate)
        for t in traces:
            assert [r["params"] for r in t.records] == [m["params"] for m in real[t.seed - 1000]]


@pytest.mark.slow
def test_conclusion_is_generated_and_holm_adjusted(study_run: Path) -> None:
    wd = study_run
    result = json.loads((wd / "results" / "study" / "conclusion.json").read_text())
    text = (wd / "results" / "study" / "conclusion.md").read_text()
    assert text.strip() == result["text"].strip()
    for source in ("surrogate", "real"):
        comps = result["comparisons"][source]
        assert set(comps["hhnas vs random-mutation"]) == {*DATASETS, "overall"}
        # q-mean-best reads hhnas's files: the same comparison, not counted twice by Holm.
        assert "q-mean-best vs random-mutation" not in comps
        for per in comps.values():
            for c in per.values():
                if not np.isnan(c["p"]):
                    assert c["p_holm"] >= c["p"] - 1e-12
    for outcome in result["outcomes"]["real"]["spider"].values():
        assert outcome in ("better", "worse", "equivalent", "inconclusive")
    html = (wd / "results" / "study.html").read_text()
    # The generated conclusion opens the study page as its verdict.
    verdict = html[html.index('id="verdict"') : html.index('id="datasets"')]
    for paragraph in result["text"].split("\n\n"):
        assert paragraph.split(":")[0] in verdict


@pytest.mark.slow
def test_report_embeds_a_present_study(study_run: Path) -> None:
    wd = study_run
    local = yaml.safe_load((wd / "local.yaml").read_text())
    local.pop("study")
    local["search"].pop("iterations")
    (wd / "local.yaml").write_text(yaml.safe_dump(local))
    run_snakemake(wd, "--", "results/report.html")
    html = (wd / "results" / "report.html").read_text()
    assert 'href="study.html"' in html
    assert "Study: confirmatory runs (spider)" in html
    assert "Study: conclusion" in html


@pytest.mark.slow
def test_every_confirmatory_run_is_in_the_optuna_mirror(study_run: Path) -> None:
    from hhnas.mirror.cli import config_distributions
    from hhnas.mirror.journal import journal_path, open_storage
    from hhnas.mirror.sync import sync_all

    wd = study_run
    storage = open_storage(journal_path(wd / "results"))
    everything = [s.study_name for s in storage.get_all_studies()]
    # test_report_embeds_a_present_study may have run the main search here too (spider/...)
    names = sorted(n for n in everything if n.startswith("study/"))
    assert names == sorted(
        f"study/{d}/{v}/exp{e}"
        for d in DATASETS
        for v in ("hhnas", "random-mutation")
        for e in range(1, EXPERIMENTS + 1)
    )
    for d in DATASETS:
        for e, recs in _metrics(wd, d, "random-mutation").items():
            sid = storage.get_study_id_from_name(f"study/{d}/random-mutation/exp{e}")
            assert storage.get_study_user_attrs(sid)["seed"] == 1000 + e
            assert storage.get_study_user_attrs(sid)["confirmatory"] is True
            trials = storage.get_all_trials(sid)
            assert [t.user_attrs["val_acc"] for t in trials] == [m["val_acc"] for m in recs]
    # The study's config names every folder's space: a full sync finds nothing to change.
    files = ("config/config.yaml", "config/test/tiny.yaml", "local.yaml")
    raw = merged(*(wd / f for f in files))
    # test_report_embeds_a_present_study takes the study out of local.yaml: the runs' config
    raw["study"] = STUDY
    cfg = load(raw)
    report = sync_all(wd / "results", config_distributions(cfg))
    assert (report.appended, report.rewritten, report.deleted, report.skipped) == (0, [], [], {})
    assert report.studies == len(everything)
