"""Search variants run side by side: the main search, other strategies, and named ablations.

A variant is a name and a `search` config. A strategy name (`hhnas`, `random`, ...) is the
config's `search` with `strategy` set to it; an ablation is `config/ablations/<name>.yaml`, a
partial `search:` mapping merged over the config's. Every variant keeps the run length
(`experiments`, `iterations`) of the config, so all of them get the same budget.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import yaml

BUDGET_KEYS = ("experiments", "iterations")
# study.variants mixes strategies and ablations; these names are strategies (hhnas.search).
STRATEGY_NAMES = ("hhnas", "random-mutation", "random", "optuna-tpe")


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` wins; mappings merge key by key, anything else (lists too) is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def main_variant(config: dict[str, Any]) -> str:
    """The search behind Tables 1-3 is named after its strategy."""
    return str(config["search"]["strategy"])


def comparison_names(config: Mapping[str, Any], key: str) -> list[str]:
    """`comparison.<key>` (strategies, ablations or baselines): a list the schema gives no
    default, so an absent one is empty."""
    return list((config.get("comparison") or {}).get(key, []))


def comparison_variants(config: dict[str, Any]) -> list[str]:
    names = comparison_names(config, "strategies") + comparison_names(config, "ablations")
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(
            f"comparison: {', '.join(clash)} named twice (comparison.strategies and "
            "comparison.ablations share one namespace; rename the ablation file)"
        )
    return names


def study_variants(config: dict[str, Any]) -> list[str]:
    """`study.variants`: strategy names and ablation names in one list, in display order."""
    study = config.get("study")
    return list(study["variants"]) if study else []


def surrogate_variants(config: dict[str, Any]) -> list[str]:
    """`study.surrogate_variants`: the variants run against the surrogate (default: all of
    study.variants)."""
    study = config.get("study")
    return list(study.get("surrogate_variants") or study["variants"]) if study else []


def load_ablation(path: str) -> dict[str, Any]:
    """An ablation file holds only `search:` overrides; anything else would change more than
    the search and make the comparison unfair."""
    if not os.path.isfile(path):
        raise ValueError(
            f"{path}: no such ablation; comparison.ablations names files in config/ablations/ "
            f"(known: {', '.join(known_ablations(os.path.dirname(path))) or 'none'})"
        )
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict) or set(doc) != {"search"} or not isinstance(doc["search"], dict):
        raise ValueError(f"{path}: an ablation must hold exactly one mapping, `search:`")
    banned = sorted(set(doc["search"]) & set(BUDGET_KEYS))
    if banned:
        raise ValueError(
            f"{path}: search.{banned[0]} may not differ between variants (same budget for all)"
        )
    return doc["search"]


def known_ablations(ablation_dir: str) -> list[str]:
    if not os.path.isdir(ablation_dir):
        return []
    return sorted(f[: -len(".yaml")] for f in os.listdir(ablation_dir) if f.endswith(".yaml"))


def variant_search(config: dict[str, Any], variant: str, ablation_dir: str) -> dict[str, Any]:
    """The `search` config of ``variant``."""
    search = config["search"]
    strategies = set(comparison_names(config, "strategies"))
    ablations = set(comparison_names(config, "ablations"))
    for name in study_variants(config) + surrogate_variants(config):
        (strategies if name in STRATEGY_NAMES else ablations).add(name)
    if variant == main_variant(config):
        return copy.deepcopy(search)
    if variant in strategies:
        return {**copy.deepcopy(search), "strategy": variant}
    if variant in ablations:
        return deep_merge(search, load_ablation(os.path.join(ablation_dir, f"{variant}.yaml")))
    raise ValueError(
        f"search variant {variant!r} is neither search.strategy nor listed in "
        "comparison.strategies, comparison.ablations or study.variants"
    )
