"""Digests of a finished workflow's result files, timings aside (tests/test_jobs_golden.py).

    python tests/golden.py WORKDIR > tests/data/tiny_golden.json

records them for a workdir run on the tiny config; the test compares a fresh run with them."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

# Wall-clock figures: the one thing allowed to differ between two runs of the same config.
TIMING_KEYS = {"seconds", "job_seconds", "train_seconds"}
# Result files compared; report.html, PNGs and logs carry dates, timings or renderer bytes.
PATTERNS = (
    "*/data/*",
    "*/features/*.npy",
    "*/search/*/exp*/*.json",
    "tables/*.csv",
    "tables/*.md",
    "tables/*.tex",
    "figures/*.svg",
)


def _strip(doc):  # type: ignore[no-untyped-def]
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in TIMING_KEYS}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".json" and "/search/" in path.as_posix():
        data = json.dumps(_strip(json.loads(data)), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def digests(workdir: Path) -> dict[str, str]:
    results = workdir / "results"
    return {
        str(p.relative_to(results)): digest(p)
        for pattern in PATTERNS
        for p in sorted(results.glob(pattern))
        if p.is_file()
    }


def machine() -> dict[str, str]:
    """What float results depend on: the same code and seed give other last bits elsewhere."""
    import torch

    cpu = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("vendor_id", "cpu family", "model") and key.strip() not in cpu:
            cpu[key.strip()] = value.strip()
    return {"torch": torch.__version__, "machine": platform.machine(), **cpu}


if __name__ == "__main__":
    json.dump({"machine": machine(), "files": digests(Path(sys.argv[1]))}, sys.stdout, indent=1)
    print()
