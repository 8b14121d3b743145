"""Send a job's stdout/stderr to its Snakemake log file."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

# Errors whose message already says which file or key is wrong and what to do (bad config or
# data, a damaged or foreign state file, a full or read-only disk): the user gets the message,
# not a traceback. Anything else is a bug and keeps its traceback. HHNAS_DEBUG=1 shows it always.
EXPLAINED = (ValueError, FileNotFoundError, OSError)


@contextlib.contextmanager
def job_log(path: str | os.PathLike) -> Iterator[None]:
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as fh:
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
