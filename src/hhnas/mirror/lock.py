"""The journal's lock: ``flock`` on ``<journal>.flock``.

Optuna's own file locks (a symlink or an O_EXCL file) outlive a killed holder, and the next
writer then waits out a 30-second grace period; a search iteration killed by Snakemake or by
SLURM in the middle of an append would stall every later job. The kernel drops an ``flock``
when its holder dies, so a kill leaves nothing to clean up. On NFS, Linux maps ``flock`` onto
the server's byte-range locks (NFSv4, or NFSv3 with lockd).

The lock is re-entrant within a process: :func:`hhnas.mirror.sync` holds it around a whole
read-compare-append, and Optuna's backend takes it again for each append.
"""

from __future__ import annotations

import fcntl
import os

LOCK_SUFFIX = ".flock"


class FlockLock:
    """An exclusive, re-entrant (per process) lock beside ``journal``. Optuna's backend only
    calls ``acquire`` and ``release`` on its lock object (its base class is private)."""

    # path -> (file descriptor, depth), for the whole process: two lock objects on one journal
    # must share the descriptor, or the second flock would wait for the first forever.
    _held: dict[str, tuple[int, int]] = {}

    def __init__(self, journal: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(journal)) + LOCK_SUFFIX

    def acquire(self) -> bool:
        fd, depth = self._held.get(self.path, (-1, 0))
        if depth == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        self._held[self.path] = (fd, depth + 1)
        return True

    def release(self) -> None:
        fd, depth = self._held.get(self.path, (-1, 0))
        if depth == 0:
            raise RuntimeError(f"{self.path}: released but not held")
        if depth > 1:
            self._held[self.path] = (fd, depth - 1)
            return
        del self._held[self.path]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> FlockLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
