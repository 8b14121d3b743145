"""Each bad config value is rejected before any job runs (a dry run of the real snakemake),
with a message naming the key and the allowed range or the fix; nothing is written."""

import pytest
import yaml
from conftest import make_workdir, run_snakemake

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"search": {"max_prob": 1.5}}, "1.5 is greater than the maximum of 1"),
        ({"training": {"epochs": -1}}, "['training']['properties']['epochs']"),
        ({"search": {"strategy": "nope"}}, "'nope' is not one of ['hhnas', 'random-mutation'"),
        ({"data": {"spider_dir": "/nonexistent/spider"}}, "data.spider_dir"),
        ({"backbone": {"path": "/nonexistent/roberta-base"}}, "backbone.path"),
        ({"search": {"k": 0}}, "['search']['properties']['k']"),
        ({"search": {"max_prob": 0}}, "['search']['properties']['max_prob']"),
        ({"search": {"macro": {"initial": [1, 2, 0]}}}, "['macro']['properties']['initial']"),
        ({"search": {"iterations": 0}}, "['search']['properties']['iterations']"),
        ({"comparison": {"ablations": ["no-such"]}}, "config/ablations/no-such.yaml: no such"),
        ({"comparison": {"strategies": ["grid"]}}, "['comparison']['properties']['strategies']"),
        (
            {"data": {"split": {"train": 0.98, "val": 0.01, "test": 0.01}}},
            "max_questions_per_class=40 is too small for the split fractions",
        ),
        # Issue 13: caught by hhnas.config (tests/test_config.py has every case without
        # Snakemake); these go through the real dry run once.
        ({"serach": {"iterations": 3}}, "did you mean `search`?"),
        (
            {
                "search": {
                    "parameters": {"num_heads": {"type": "discrete", "choices": [1], "initial": 1}}
                }
            },
            "`search.parameters.num_heads` is not a known key",
        ),
        (
            {"data": {"split": {"train": 0.9, "val": 0.2, "test": 0.1}}},
            "the three fractions must sum to 1",
        ),
        (
            {"search": {"parameters": {"learning_rate": {"low": 0.1, "high": 0.001}}}},
            "search.parameters.learning_rate: low=0.1 must be below high=0.001",
        ),
        (
            {"search": {"parameters": {"kernel_size": {"choices": [0, 3], "initial": 3}}}},
            "kernel_size.choices: [0] not allowed",
        ),
    ],
)
def test_bad_config_is_rejected_before_any_job(tmp_path, extra, message):
    wd = make_workdir(tmp_path)
    (wd / "bad.yaml").write_text(yaml.safe_dump(extra))
    proc = run_snakemake(
        wd, "--configfile", "config/test/tiny.yaml", "local.yaml", "bad.yaml", "-n", check=False
    )
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (wd / "results").exists()
