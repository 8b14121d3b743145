"""Opening the mirror's JournalStorage, and repairing what a killed writer leaves.

Optuna writes each operation as one JSON line. A writer killed in the middle of a write leaves
a last line without its newline; Optuna's reader skips such a line while it is the last, but
raises once anything is written after it. :class:`RepairingBackend` therefore cuts a partial
last line off, under the lock, before each append. The operation it held was never complete,
and the next sync (or the re-run job) writes it again.
"""

from __future__ import annotations

import os

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from hhnas.mirror.lock import FlockLock

JOURNAL = os.path.join("optuna", "journal.log")
TAIL_CHUNK = 1 << 16


def journal_path(results: str | os.PathLike) -> str:
    """Where the mirror of a ``results/`` folder lives."""
    return os.path.join(os.fspath(results), JOURNAL)


def drop_partial_tail(path: str | os.PathLike) -> int:
    """Cut the file after its last newline; return the number of bytes removed."""
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - TAIL_CHUNK)
            fh.seek(start)
            at = fh.read(end - start).rfind(b"\n")
            if at >= 0:
                keep = start + at + 1
                break
            end = start
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
        return size - keep


class RepairingBackend(JournalFileBackend):
    """Optuna's file backend with :class:`FlockLock` and a partial last line cut before each
    append."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.lock = FlockLock(path)
        super().__init__(os.fspath(path), lock_obj=self.lock)

    def append_logs(self, logs: list[dict]) -> None:
        with self.lock:
            drop_partial_tail(self._file_path)
            super().append_logs(logs)


def open_storage(path: str | os.PathLike) -> JournalStorage:
    """The journal at ``path`` (created, with its folder, when missing)."""
    # Optuna logs each new study at INFO: one line per experiment in every job's log.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    return JournalStorage(RepairingBackend(path))
