"""A job for the warm-worker tests (registered by them, never by the package): reports where it
ran, writes to both streams, can sleep and fail."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

JOBS = {"selftest": "worker_selftest:selftest"}


def selftest(payload: dict[str, Any]) -> None:
    Path(payload["out"]).write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "ppid": os.getppid(),
                "cwd": os.getcwd(),
                "env": os.environ.get("HHNAS_SELFTEST", ""),
                "torch_preloaded": "torch" in sys.modules,
            }
        )
    )
    print(f"stdout of {payload.get('tag', '')}", flush=True)
    print(f"stderr of {payload.get('tag', '')}", file=sys.stderr, flush=True)
    time.sleep(float(payload.get("sleep", 0)))
    if payload.get("exit"):
        raise SystemExit(int(payload["exit"]))
