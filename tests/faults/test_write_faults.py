"""Disk full, read-only or forbidden results directory: a clear error, the previous file intact,
no temp file left behind."""

import errno
import os
import subprocess

import pytest

from hhnas.io import WriteError, write_json, write_text


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, code, says):
    path = tmp_path / "state_3.json"
    write_json(path, {"iteration": 3})
    before = path.read_bytes()

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(WriteError) as err:
        write_json(path, {"iteration": 3, "new": True})
    msg = str(err.value)
    assert str(path) in msg and says in msg
    assert "its previous version is intact" in msg and "re-run the same command" in msg
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state_3.json"]  # no temp file left


def test_first_write_says_nothing_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "x")))
    with pytest.raises(WriteError, match="nothing was written"):
        write_text(tmp_path / "new.txt", "hello")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_through_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "io")))
    with pytest.raises(OSError) as err:
        write_text(tmp_path / "x.txt", "hello")
    assert not isinstance(err.value, WriteError) and err.value.errno == errno.EIO


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 64 KiB file system (root only); skipped where mounting is not allowed."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_really_full_disk(tiny_tmpfs):
    path = tiny_tmpfs / "metrics_0.json"
    write_json(path, {"ok": 1})
    before = path.read_bytes()
    with pytest.raises(WriteError, match="the disk is full"):
        write_text(path, "x" * (1 << 20))
    assert path.read_bytes() == before
    assert [p.name for p in tiny_tmpfs.iterdir()] == ["metrics_0.json"]


def test_really_read_only(tiny_tmpfs):
    path = tiny_tmpfs / "state_0.json"
    write_json(path, {"ok": 1})
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    with pytest.raises(WriteError, match="the file system is read-only"):
        write_json(path, {"ok": 2})
    assert path.read_text().strip().endswith("}") and '"ok": 1' in path.read_text()
