"""The package's layering is a contract: each package imports only from the layers below it.

Read with grimp, which sees every import statement, those inside functions (lazy imports)
included. Packages on one layer are independent of each other. `hhnas.config` is on the
ground floor: the configuration describes the pipeline and depends on none of it.
"""

from __future__ import annotations

import grimp
import pytest

# Bottom first; the closing note of issue 22 quotes this list.
LAYERS: list[set[str]] = [
    {"config", "io", "machine", "models", "records"},
    {"features", "search", "training"},
    {"data", "mirror"},
    {"baselines", "jobs", "preflight"},
    {"final", "study"},
    {"reporting"},
]
LEVEL = {f"hhnas.{name}": i for i, layer in enumerate(LAYERS) for name in layer}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("hhnas", cache_dir=None)


def top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def violations(graph: grimp.ImportGraph, level: dict[str, int]) -> list[str]:
    """Imports between top-level packages that do not go strictly down a layer."""
    root = next(iter(level)).split(".")[0]
    out = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = top(module), top(imported)
            if a != b and root not in (a, b) and level[b] >= level[a]:
                out.add(f"{a} (layer {level[a]}) imports {b} (layer {level[b]})")
    return sorted(out)


def test_every_package_has_a_layer(graph) -> None:
    packages = {top(m) for m in graph.modules} - {"hhnas"}
    assert packages == set(LEVEL), "add a new package to LAYERS (or remove a stale name)"


def test_at_most_six_layers() -> None:
    assert len(LAYERS) <= 6


def test_config_imports_no_other_hhnas_package(graph) -> None:
    config = [m for m in graph.modules if top(m) == "hhnas.config"]
    outside = sorted(
        f"{m} imports {i}"
        for m in config
        for i in graph.find_modules_directly_imported_by(m)
        if top(i) != "hhnas.config"
    )
    assert outside == []


def test_no_import_runs_up_or_sideways(graph) -> None:
    assert violations(graph, LEVEL) == []


def test_the_check_sees_a_lazy_upward_import(tmp_path, monkeypatch) -> None:
    """The contract must be able to fail: a function-level import from config into search."""
    pkg = tmp_path / "layered"
    for sub in ("config", "search"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "config" / "sections.py").write_text(
        "def models():\n"
        "    from layered.search.space import model_number\n"
        "    return model_number\n"
    )
    (pkg / "search" / "space.py").write_text("import layered.config.sections\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    g = grimp.build_graph("layered", cache_dir=None)
    level = {"layered.config": 0, "layered.search": 1}
    assert violations(g, level) == ["layered.config (layer 0) imports layered.search (layer 1)"]
