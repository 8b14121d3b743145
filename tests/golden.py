"""Digests of a finished workflow's result files, timings aside (tests/test_jobs_golden.py).

    python tests/golden.py WORKDIR "CODE" > recording.json

records them for a workdir run on the tiny config (CODE says which code made them, e.g. "commit
191a130"); the recording joins the list in tests/data/tiny_golden.json, one per CPU model, and
the test compares a fresh run with the recording of its own machine."""

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
    "figures/*.svg",
)
# Columns added to the tables after the digests were recorded (the paper's figures beside ours,
# 2026-12-02): left out of the digest, so the recorded runs still say whether ours changed.
ADDED_COLUMN_PREFIX = "Paper "


def _without_added_columns(text: str) -> bytes:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text.encode()
    header = lines[0].rstrip("\n").split(",")
    keep = [i for i, c in enumerate(header) if not c.startswith(ADDED_COLUMN_PREFIX)]
    out = []
    for line in lines:
        cells = line.rstrip("\n").split(",")
        out.append(",".join(cells[i] for i in keep) + ("\n" if line.endswith("\n") else ""))
    return "".join(out).encode()


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
    if path.suffix == ".csv" and path.parent.name == "tables":
        data = _without_added_columns(data.decode())
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


def figures(wd: Path, dataset: str) -> dict[str, float]:
    """A finished run's best searched candidate (by validation accuracy) and final model:
    their validation and test accuracy (the figures test_jobs_golden.py bounds)."""
    metrics = [
        json.loads(p.read_text())
        for p in (wd / "results" / dataset / "search" / "hhnas").glob("exp*/metrics_*.json")
    ]
    ok = [m for m in metrics if m["status"] == "ok"]
    best = min(ok, key=lambda m: (-m["val_acc"], m["experiment"], m["iteration"]))
    final = json.loads((wd / "results" / dataset / "final" / "metrics.json").read_text())
    return {
        "best_val": best["val_acc"],
        "best_test": best["test_acc"],
        "final_val": final["val"]["accuracy"],
        "final_test": final["test"]["accuracy"],
    }


def golden_config(seed: int | None = None) -> dict:
    """The local config of tests/test_jobs_golden.py's own-process run, with another search
    seed when seed is given."""
    from hhnas.config.variants import load_ablation

    root = Path(__file__).resolve().parents[1]
    search = load_ablation(str(root / "config" / "ablations" / "hhnas-literal.yaml"))
    if seed is not None:
        search = {**search, "seed": seed}
    return {"execution": {"warm_worker": False}, "search": search}


if __name__ == "__main__":
    recording = {"machine": machine(), "code": sys.argv[2], "files": digests(Path(sys.argv[1]))}
    json.dump(recording, sys.stdout, indent=1)
    print()
