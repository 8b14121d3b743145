"""Captions: report/<name>.rst is the one source for snakemake --report and the HTML report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from hhnas.reporting.captions import REPORT_DIR, caption

RST = sorted(p.stem for p in (ROOT / "report").glob("*.rst"))
CAPTIONS = re.compile(r'caption="\.\./report/(\w+)\.rst"')


def test_report_dir_is_the_checkouts() -> None:
    assert REPORT_DIR == ROOT / "report"


def test_caption_is_the_rst_text() -> None:
    by_hand = (ROOT / "report" / "table3.rst").read_text(encoding="utf-8").strip()
    assert caption("table3") == by_hand
    assert by_hand.startswith("Table 3:") and "\n" not in by_hand


def test_dataset_placeholder_filled(tmp_path: Path) -> None:
    by_hand = (ROOT / "report" / "dataset_table.rst").read_text(encoding="utf-8").strip()
    assert "{{ snakemake.wildcards.dataset }}" in by_hand
    text = caption("dataset_table", dataset="geo")
    assert text == by_hand.replace("{{ snakemake.wildcards.dataset }}", "geo")
    assert text.startswith("Dataset geo:")
    # Whitespace inside the braces is optional; every occurrence is filled.
    (tmp_path / "x.rst").write_text(
        "  {{snakemake.wildcards.dataset}} and {{  snakemake.wildcards.dataset }}.\n"
    )
    assert caption("x", dataset="a_b", report_dir=tmp_path) == "a_b and a_b."
    # No placeholder: dataset is ignored.
    assert caption("table3", dataset="geo") == caption("table3")


def test_missing_dataset_names_the_file() -> None:
    with pytest.raises(ValueError, match=r"dataset_model_trend\.rst.*dataset="):
        caption("dataset_model_trend")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no_such_caption\.rst"):
        caption("no_such_caption", report_dir=tmp_path)


def test_every_rule_caption_exists() -> None:
    used = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        used |= set(CAPTIONS.findall(smk.read_text()))
    assert used and used <= set(RST)


@pytest.mark.parametrize("name", RST)
def test_rst_is_plain_text(name: str) -> None:
    """One paragraph that reStructuredText reads as plain text (no emphasis, literals,
    references), so the HTML report, which shows the text as is, reads like snakemake --report."""
    docutils_core = pytest.importorskip("docutils.core")
    nodes = pytest.importorskip("docutils.nodes")
    text = caption(name, dataset="geo")
    assert "\n" not in text and "{{" not in text and "{%" not in text
    doctree = docutils_core.publish_doctree(text, settings_overrides={"report_level": 5})
    assert [type(n) for n in doctree.children] == [nodes.paragraph], doctree.pformat()
    paragraph = doctree.children[0]
    assert all(isinstance(n, nodes.Text) for n in paragraph.children), paragraph.pformat()
    assert paragraph.astext() == text
