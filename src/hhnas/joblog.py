"""Send a job's stdout/stderr to its Snakemake log file."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator


@contextlib.contextmanager
def job_log(path: str | os.PathLike) -> Iterator[None]:
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as fh:
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            try:
                yield
            except BaseException:
                traceback.print_exc(file=fh)
                raise
