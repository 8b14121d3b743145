"""Crash-safe file writes: every file the workflow produces goes through here."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


# Write failures that are about the disk, not about the program: say so, and what to do.
_DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class WriteError(OSError):
    """A result could not be written; the previous version of the file is intact."""


def _atomic(path: str | os.PathLike, write: Callable[[Any], None], mode: str) -> None:
    # Temp file in the same directory so the rename is atomic on one filesystem: a crash or a
    # full disk leaves either the old file or the new one, never half of one.
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # mkstemp makes the file private (0600); results are shared like any other output.
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
            kept = "its previous version is intact" if path.exists() else "nothing was written"
            raise WriteError(
                exc.errno,
                f"{path}: cannot write: {_DISK_ERRORS[exc.errno]} ({exc.strerror}); {kept}. "
                f"Free space or make {path.parent} writable, then re-run the same command: "
                "finished results are kept",
            ) from None
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    _atomic(path, lambda fh: fh.write(text), "w")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    _atomic(path, lambda fh: fh.write(data), "wb")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
            "the file is truncated or was edited by hand: delete it to recompute it"
        ) from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "the file is damaged: delete it to recompute it"
        ) from None


def write_dir(path: str | os.PathLike, fill: Callable[[Path], None]) -> None:
    """A whole directory or nothing: ``fill(tmp)`` writes into a temporary sibling, which one
    rename then puts at ``path`` (an existing directory there is replaced)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        fill(tmp)
        # mkdtemp makes the directory private (0700); results are shared like any other output.
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    _atomic(path, lambda fh: np.save(fh, array, allow_pickle=False), "wb")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    _atomic(path, lambda fh: np.savez(fh, allow_pickle=False, **arrays), "wb")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()
