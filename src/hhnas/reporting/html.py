"""Self-contained HTML report: one file, images inlined, no external resources."""

from __future__ import annotations

import base64
import importlib.metadata
import platform
import re
import subprocess
from pathlib import Path

import jinja2

from hhnas.io import write_text
from hhnas.reporting.records import DatasetEntry, FailedCandidate, ReportContext, TemplateContext
from hhnas.reporting.references import LABEL

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
# An src/href pointing off the file (http:, https: or protocol-relative //) breaks offline use.
_EXTERNAL = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def embed_image(png_path: str) -> str:
    """``data:`` URI holding the image file, so the report needs no side files."""
    path = Path(png_path)
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"{path}: unsupported image type {path.suffix!r}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: image not found") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def software_versions(packages: list[str]) -> dict[str, str]:
    """Installed version of each distribution; ``"python"`` gives the interpreter version."""
    versions = {}
    for name in packages:
        if name.lower() == "python":
            versions[name] = platform.python_version()
            continue
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo_dir: str) -> str:
    """HEAD commit of ``repo_dir``; "unknown" outside a repository, without commits or git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo_dir), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else "unknown"


def render_report(template_path: str, out_html: str, context: ReportContext) -> None:
    """Render the Jinja2 template with ``context`` and write one self-contained HTML file.

    Raises ValueError if the result references anything outside the file through src/href,
    since the report must open offline and stay reproducible.
    """
    html = render_html(template_path, context)
    match = _EXTERNAL.search(html)
    if match:
        start = max(match.start() - 40, 0)
        raise ValueError(
            f"report would load an external resource near: {html[start : match.end() + 40]!r}"
        )
    write_text(out_html, html)


def render_html(template_path: str, context: ReportContext) -> str:
    """The rendered HTML as a string (render_report without the check and the write)."""
    path = Path(template_path)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path.parent)),
        autoescape=True,
        # Missing keys, even nested ones, render as empty instead of raising.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(path.name).render(**_prepare(context))


def _prepare(context: ReportContext) -> TemplateContext:
    ctx: TemplateContext = {**context}
    ctx["datasets"] = [_dataset(d) for d in ctx.get("datasets") or []]
    ctx["failed"] = list(ctx.get("failed") or [])
    ctx["failed_columns"] = _columns(ctx["failed"])
    runtimes = list(ctx.get("runtimes") or [])
    ctx["runtimes"] = runtimes
    ctx["runtime_total"] = sum(float(r.get("seconds") or 0.0) for r in runtimes)
    ctx["reference_label"] = LABEL
    return ctx


def _dataset(entry: DatasetEntry) -> DatasetEntry:
    # Accept split counts either flat (train=..) or nested under "splits".
    out = entry.copy()
    splits = out.get("splits") or {}
    for split in ("train", "val", "test"):
        out.setdefault(split, splits.get(split))
    out["notes"] = list(out.get("notes") or [])
    return out


def _columns(rows: list[FailedCandidate]) -> list[str]:
    # Union of keys in first-seen order: failed records need not all carry the same fields.
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)
