"""Captions of the report's tables and figures, read from report/<name>.rst.

Those files are the one source: ``snakemake --report`` renders them (Jinja, then
reStructuredText) and the HTML report shows the same text. They are kept plain, one paragraph
without inline markup, so both read alike.
"""

from __future__ import annotations

import re
from pathlib import Path

# src/hhnas/reporting/captions.py -> parents[3] is the checkout, which holds report/.
REPORT_DIR = Path(__file__).resolve().parents[3] / "report"

# The one Jinja variable the caption files use (Snakemake's report context).
_DATASET = re.compile(r"\{\{\s*snakemake\.wildcards\.dataset\s*\}\}")


def caption(name: str, dataset: str | None = None, report_dir: Path = REPORT_DIR) -> str:
    """Text of ``report_dir/<name>.rst``, stripped, with ``{{ snakemake.wildcards.dataset }}``
    replaced by ``dataset``.

    Raises FileNotFoundError naming the file if it is missing, and ValueError naming it if it
    has a dataset placeholder but ``dataset`` is None.
    """
    path = Path(report_dir) / f"{name}.rst"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FileNotFoundError(f"caption file {path} not found") from None
    if _DATASET.search(text):
        if dataset is None:
            raise ValueError(
                f"caption file {path} has a {{{{ snakemake.wildcards.dataset }}}} placeholder; "
                "pass dataset="
            )
        text = _DATASET.sub(lambda _: dataset, text)
    return text
