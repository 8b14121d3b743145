"""Send a job's stdout/stderr to its Snakemake log file, and record what the job itself cost."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator

# Errors whose message already says which file or key is wrong and what to do (bad config or
# data, a damaged or foreign state file, a full or read-only disk): the user gets the message,
# not a traceback. Anything else is a bug and keeps its traceback. HHNAS_DEBUG=1 shows it always.
EXPLAINED = (ValueError, FileNotFoundError, OSError)
# The last line of every job log: the job's own wall and CPU time, from entering job_log to
# leaving it (benchmarks/bench_workflow.py sets them against the time Snakemake spent on it).
TIMING_PREFIX = "hhnas-timing "


@contextlib.contextmanager
def job_log(path: str | os.PathLike) -> Iterator[None]:
    start, cpu = time.time(), time.process_time()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as fh:
        try:
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                try:
                    yield
                except EXPLAINED as exc:
                    if os.environ.get("HHNAS_DEBUG") == "1":
                        traceback.print_exc(file=fh)
                    message = f"hhnas error: {exc}"
                    print(message, file=fh)
                    # The console (Snakemake's output) shows it too, not only the log file.
                    print(message, file=sys.__stderr__, flush=True)
                    raise SystemExit(1) from None
                except BaseException:
                    traceback.print_exc(file=fh)
                    raise
        finally:
            end = time.time()
            timing = {
                "start": round(start, 4),
                "end": round(end, 4),
                "wall": round(end - start, 4),
                "cpu": round(time.process_time() - cpu, 4),
                "pid": os.getpid(),
            }
            fh.write(TIMING_PREFIX + json.dumps(timing) + "\n")


def read_timing(path: str | os.PathLike) -> dict[str, float] | None:
    """The timing line of a finished job's log, or None (no log, or the job was killed)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith(TIMING_PREFIX):
            return json.loads(line[len(TIMING_PREFIX) :])
    return None
