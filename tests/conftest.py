import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SPIDER_DIR = ROOT.parent / "shared" / "data" / "spider"

# The venv's snakemake, so a test runs the workflow with the interpreter running pytest.
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# What of the repository a workflow needs: make_workdir copies these into a fresh directory.
COPY = ["Snakefile", "rules", "scripts", "config", "report", "src", "envs", "profiles"]
# The tiny workflow run in a make_workdir directory, before any extra arguments.
SNAKEMAKE_TINY = [SNAKEMAKE, "--cores", "2", "--configfile", "config/test/tiny.yaml", "local.yaml"]


def load_config() -> dict:
    """config/config.yaml freshly parsed, for fixtures of any scope (callers may mutate it)."""
    with open(ROOT / "config" / "config.yaml") as fh:
        return yaml.safe_load(fh)


def snakemake_env(extra: dict | None = None) -> dict[str, str]:
    """The environment a test's snakemake runs in: offline, so no run reaches the Hub."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", **(extra or {})}


def make_workdir(tmp: Path, extra: dict | None = None) -> Path:
    """A copy of the workflow in tmp with local.yaml (the shared data, plus extra) beside it,
    so runs never write into the repository."""
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / name)
    local = {"data": {"spider_dir": str(SPIDER_DIR)}, **(extra or {})}
    (tmp / "local.yaml").write_text(yaml.safe_dump(local))
    return tmp


def run_snakemake(
    wd: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The tiny workflow in wd (SNAKEMAKE_TINY plus args, env added to snakemake_env());
    with check, a failed run raises with the tail of its output."""
    cmd = [*SNAKEMAKE_TINY, *args]
    proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, env=snakemake_env(env))
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


# config/test/tiny.yaml's datasets, both in run_datasets unless a test's local.yaml says less.
TINY_DATASETS = ("spider", "spider-heldout")
# A dataset's inputs to the search (rules/search.smk): its data and its three feature sets;
# making them makes the converted LLM and encoder too.
FEATURE_FILES = (
    "data/dataset.jsonl",
    "data/classes.json",
    "features/llm.npy",
    "features/linking.npy",
    "features/backbone.npy",
)


@pytest.fixture(scope="session")
def feature_run(tmp_path_factory) -> Path:
    """The tiny config's data and features of both datasets, made once per session by the real
    snakemake, for seed_features. The runs that test those jobs themselves make their own: the
    golden run (tests/test_jobs_golden.py), the kills during data preparation and feature
    extraction (tests/faults), the paper profile and SLURM."""
    wd = make_workdir(tmp_path_factory.mktemp("features"))
    run_snakemake(wd, "--", *(f"results/{d}/{f}" for d in TINY_DATASETS for f in FEATURE_FILES))
    return wd


def seed_features(wd: Path, source: Path) -> Path:
    """wd with source's data, features (of the run_datasets in wd's local.yaml) and converted
    models, so that a test whose subject comes after the features (the search, the final model,
    the report) spends its minutes there and Snakemake plans no data or feature job in wd. The
    files are the bytes wd's own feature jobs would make (same tiny config; features hold no
    per-run state). copy2 keeps their times, so each stays newer than what it was made from;
    the models (hundreds of MB, only read) are hard links."""
    local = yaml.safe_load((wd / "local.yaml").read_text())
    for dataset in local.get("run_datasets", TINY_DATASETS):
        for part in ("data", "features"):
            shutil.copytree(source / "results" / dataset / part, wd / "results" / dataset / part)
    shutil.copytree(source / "results" / "models", wd / "results" / "models", copy_function=os.link)
    return wd


def seed_llm(wd: Path, source: Path) -> Path:
    """wd with source's converted LLM (rule convert_llm: a function of the installed GGUF
    package and the `llm` config alone, which no test changes), hard-linked, for runs of other
    profiles or data that make their own features from it."""
    dest = wd / "results" / "models" / "llm"
    shutil.copytree(source / "results" / "models" / "llm", dest, copy_function=os.link)
    return wd


def final_states(wd: Path) -> dict[str, dict]:
    """Every search state and metrics file of wd's run, wall times removed, so two runs of the
    same config compare equal."""
    out = {}
    for path in sorted((wd / "results").glob("*/search/*/exp*/*.json")):
        doc = json.loads(path.read_text())
        # Wall times are the one thing allowed to differ.
        doc.pop("seconds", None)
        doc.pop("job_seconds", None)
        for epoch in doc.get("epochs", []):
            epoch.pop("seconds", None)
            epoch.pop("train_seconds", None)
        out[str(path.relative_to(wd))] = doc
    return out


@pytest.fixture
def config() -> dict:
    return load_config()


@pytest.fixture
def search_cfg(config) -> dict:
    return copy.deepcopy(config["search"])


def literal_search() -> dict:
    """The default search with the paper-literal reading of the Q-table merged over it
    (config/ablations/hhnas-literal.yaml): for tests that hand-compute that reading."""
    from hhnas.config.variants import deep_merge, load_ablation

    literal = load_ablation(str(ROOT / "config" / "ablations" / "hhnas-literal.yaml"))
    return deep_merge(load_config()["search"], literal)


@pytest.fixture
def literal_search_cfg() -> dict:
    return literal_search()
