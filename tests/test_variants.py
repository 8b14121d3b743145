"""Search variants (strategies, ablations) and the search's objective."""

from pathlib import Path

import pytest
from conftest import ROOT, load_config

from hhnas.config.variants import (
    comparison_variants,
    deep_merge,
    load_ablation,
    main_variant,
    variant_search,
)
from hhnas.search.objective import objective
from hhnas.search.space import space_from_config

ABLATIONS = ROOT / "config" / "ablations"


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config()


def test_deep_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    out = deep_merge(base, {"a": {"y": [3]}, "c": 4})
    assert out == {"a": {"x": 1, "y": [3]}, "b": 2, "c": 4}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2}  # the input is left alone


def test_strategy_variant_changes_only_the_strategy(config) -> None:
    assert main_variant(config) == "hhnas"
    search = variant_search(config, "optuna-tpe", str(ABLATIONS))
    assert search == {**config["search"], "strategy": "optuna-tpe"}
    assert variant_search(config, "hhnas", str(ABLATIONS)) == config["search"]


@pytest.mark.parametrize("path", sorted(ABLATIONS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_ablation_builds_a_valid_space(config, path: Path) -> None:
    cfg = {**config, "comparison": {**config["comparison"], "ablations": [path.stem]}}
    search = variant_search(cfg, path.stem, str(ABLATIONS))
    # q-mean-best is what the study chose as the default (docs/study.md); every other
    # ablation changes something.
    assert (search == config["search"]) == (path.stem == "q-mean-best")
    assert search["iterations"] == config["search"]["iterations"]
    space_from_config(search)


def test_macro_and_micro_only_ablations_fix_what_they_say(config) -> None:
    cfg = {
        **config,
        "comparison": {**config["comparison"], "ablations": ["macro-only", "micro-only"]},
    }
    macro = space_from_config(variant_search(cfg, "macro-only", str(ABLATIONS)))
    assert [p.name for p in macro.features] == ["p2", "p3"]
    micro = space_from_config(variant_search(cfg, "micro-only", str(ABLATIONS)))
    assert micro.macro_initial == (1, 1, 1)
    assert [p.name for p in micro.features] == list(config["search"]["parameters"])


def test_ablation_may_not_change_the_budget_or_other_sections(tmp_path) -> None:
    (tmp_path / "long.yaml").write_text("search: {iterations: 100}\n")
    with pytest.raises(ValueError, match="same budget"):
        load_ablation(str(tmp_path / "long.yaml"))
    (tmp_path / "train.yaml").write_text("training: {epochs: 50}\n")
    with pytest.raises(ValueError, match="exactly one mapping, `search:`"):
        load_ablation(str(tmp_path / "train.yaml"))
    with pytest.raises(ValueError, match="known: long, train"):
        load_ablation(str(tmp_path / "missing.yaml"))


def test_unknown_variant_and_name_clash_are_errors(config) -> None:
    with pytest.raises(ValueError, match="neither search.strategy nor listed"):
        variant_search(config, "macro-only", str(ABLATIONS))
    clash = {"comparison": {"strategies": ["random"], "ablations": ["random"]}}
    with pytest.raises(ValueError, match="random named twice"):
        comparison_variants(clash)


# ----------------------------------------------------------------------------- objective


def _result(val: float, n_params: int = 2_000_000, status: str = "ok") -> dict:
    return {
        "status": status,
        "val_acc": val,
        "n_params": n_params,
        "epochs": [{"seconds": 1.0}, {"seconds": 3.0}],
    }


def test_default_objective_is_the_validation_accuracy() -> None:
    assert objective(_result(0.9), {}) == {"objective": 0.9, "cost": 2_000_000.0}


def test_cost_penalty_by_hand() -> None:
    # 0.9 - 0.01 * 2e6 / 1e6 = 0.88
    cfg = {"reward": {"objective": "accuracy-minus-cost", "weight": 0.01, "scale": 1e6}}
    assert objective(_result(0.9), cfg)["objective"] == pytest.approx(0.88)
    # seconds per epoch: mean of 1 and 3 = 2; 0.9 - 0.05 * 2 / 1 = 0.8
    cfg = {
        "reward": {"objective": "accuracy-minus-cost", "cost": "seconds_per_epoch", "weight": 0.05}
    }
    assert objective(_result(0.9), cfg) == {"objective": pytest.approx(0.8), "cost": 2.0}


def test_failed_candidate_scores_zero_whatever_its_cost() -> None:
    cfg = {"reward": {"objective": "accuracy-minus-cost", "weight": 1.0, "scale": 1.0}}
    assert objective(_result(0.0, status="failed"), cfg)["objective"] == 0.0
