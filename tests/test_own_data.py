"""The README's own-data example, end to end: a CLINC150 subset with its published split and no
Spider dataset, run with the checkout's Snakefile from a folder outside the checkout."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SNAKEMAKE, seed_llm, snakemake_env

pytestmark = pytest.mark.slow
CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150.csv"
INTENTS = 4
OOS_ROWS = 25


def readme_example() -> dict:
    """The YAML block of README's own-data example, as a user would copy it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# own-data example: mine.yaml\n(.*?)```", text, re.S)
    assert block, "README lost its own-data example"
    return yaml.safe_load(block.group(1))


def clinc_subset(path: Path) -> dict[str, dict[str, int]]:
    """The first INTENTS intents (all their published rows) and some out-of-scope rows."""
    with open(CLINC, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    intents = sorted({r["label"] for r in rows if r["label"] != "oos"})[:INTENTS]
    keep = [r for r in rows if r["label"] in intents]
    keep += [r for r in rows if r["label"] == "oos"][:OOS_ROWS]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "split"])
        writer.writeheader()
        writer.writerows(keep)
    counts: dict[str, dict[str, int]] = {}
    for r in keep:
        if r["label"] != "oos":
            counts.setdefault(r["label"], {}).setdefault(r["split"], 0)
            counts[r["label"]][r["split"]] += 1
    return counts


@pytest.fixture(scope="module")
def own_run(tmp_path_factory, feature_run) -> tuple[Path, dict[str, dict[str, int]]]:
    """The README's own-data example on a CLINC150 subset; its data and features are its own,
    the converted LLM the session's."""
    if not CLINC.is_file():
        pytest.skip(f"{CLINC} not present")
    folder = seed_llm(tmp_path_factory.mktemp("mydata"), feature_run)
    published = clinc_subset(folder / "clinc_subset.csv")
    mine = readme_example()
    (name,) = mine["run_datasets"]
    mine["datasets"][name]["path"] = "clinc_subset.csv"  # relative: read from the working dir
    (folder / "mine.yaml").write_text(yaml.safe_dump(mine))
    cmd = [
        SNAKEMAKE,
        "-s",
        str(ROOT / "Snakefile"),
        "--cores",
        "2",
        "--configfile",
        str(ROOT / "config" / "test" / "tiny.yaml"),
        "mine.yaml",
    ]
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=snakemake_env())
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return folder, published


def test_the_published_split_is_kept_row_for_row(own_run):
    folder, published = own_run
    rows = [json.loads(line) for line in (folder / "results/clinc150/data/dataset.jsonl").open()]
    classes = json.loads((folder / "results/clinc150/data/classes.json").read_text())["classes"]
    got: dict[str, dict[str, int]] = {}
    for r in rows:
        got.setdefault(classes[r["label"]], {}).setdefault(r["split"], 0)
        got[classes[r["label"]]][r["split"]] += 1
    assert got == published
    counts = json.loads((folder / "results/clinc150/data/counts.json").read_text())
    assert counts["split_source"] == "column:split"
    assert counts["excluded_labels"] == {"oos": OOS_ROWS}


def test_no_paper_outputs_and_every_dataset_output(own_run):
    folder, _ = own_run
    results = folder / "results"
    assert not (results / "tables").exists() and not (results / "figures").exists()
    for f in ("tables/experiments.csv", "tables/experiments.md", "figures/model1.png"):
        assert (results / "clinc150" / f).is_file(), f
    assert not (ROOT / "results" / "clinc150").exists()  # nothing written into the checkout


def test_the_report_is_titled_for_the_dataset_without_spider_numbers(own_run):
    folder, _ = own_run
    html = (folder / "results" / "report.html").read_text(encoding="utf-8")
    # The config as run is shown at the end, reference section included: not a claim.
    html = re.sub(r"<pre><code>.*?</code></pre>", "", html, flags=re.S)
    assert "HHNAS-AM search report: clinc150" in html
    assert "Validation accuracy per experiment and model (clinc150)" in html
    assert "Model 1 (clinc150)" in html
    for spider_only in ("Table 2", "Text-to-SQL", "98.21", "Spider set has 86 classes"):
        assert spider_only not in html
