"""The warm worker (hhnas.jobs.worker): jobs forked from a resident process behave like jobs in
their own process (output, exit status, environment, working directory, results), and no job
outlives the process that asked for it or the server that forked it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, final_states, make_workdir, run_snakemake, seed_features
from worker_selftest import JOBS as SELFTEST

from hhnas.jobs import JOBS, search_iteration
from hhnas.jobs import worker as warm_worker

TESTS = Path(__file__).resolve().parent
CLIENT = """
import json, sys
sys.path[:0] = [{src!r}, {tests!r}]
from hhnas.jobs.worker import run_job
from worker_selftest import JOBS, selftest
payload = json.loads(sys.argv[1])
settings = {{"warm_worker": True, "warm_worker_idle_seconds": float(sys.argv[2])}}
sys.exit(run_job(selftest, payload, settings, JOBS))
"""


@pytest.fixture
def sockdir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "sock"
    monkeypatch.setenv("HHNAS_WORKER_DIR", str(path))
    yield path
    # No server may outlive its test.
    for pid in _server_pids(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _server_pids(path: Path) -> list[int]:
    pids = []
    for log in path.glob("*.log"):
        for line in log.read_text().splitlines():
            if "serving" in line:
                pids.append(int(line.split("(pid ")[1].split(",")[0]))
    return pids


def _client(
    tmp: Path,
    out: str,
    *,
    idle: float = 30,
    env: dict | None = None,
    wait: bool = True,
    **payload,
) -> subprocess.CompletedProcess | subprocess.Popen:
    cmd = [
        sys.executable,
        "-c",
        CLIENT.format(src=str(ROOT / "src"), tests=str(TESTS)),
        json.dumps({"out": str(tmp / out), **payload}),
        str(idle),
    ]
    # The server the first client starts imports the self-test job from the tests directory.
    full_env = {**os.environ, "PYTHONPATH": str(TESTS), **(env or {})}
    if wait:
        return subprocess.run(cmd, cwd=tmp, env=full_env, capture_output=True, text=True)
    return subprocess.Popen(cmd, cwd=tmp, env=full_env)


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _served(sockdir: Path) -> None:
    """Wait until a server has imported its modules and listens."""
    _wait_for(lambda: any(_server_pids(sockdir)) and any(sockdir.glob("*.sock")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[1].startswith("Z"))


def test_first_job_runs_in_its_own_process_and_later_jobs_in_forked_children(tmp_path, sockdir):
    first = _client(tmp_path, "a.json", tag="A", env={"HHNAS_SELFTEST": "one"})
    assert first.returncode == 0, first.stderr
    a = json.loads((tmp_path / "a.json").read_text())
    assert a["torch_preloaded"] is False  # ran in the adapter's own process: nothing preloaded
    _served(sockdir)
    second = _client(tmp_path, "b.json", tag="B", env={"HHNAS_SELFTEST": "two"})
    assert second.returncode == 0, second.stderr
    b = json.loads((tmp_path / "b.json").read_text())
    server = _server_pids(sockdir)[0]
    assert b["ppid"] == server and b["pid"] != server
    assert b["torch_preloaded"] is True
    # The child took over the adapter's streams, environment and working directory.
    assert second.stdout == "stdout of B\n" and second.stderr == "stderr of B\n"
    assert b["env"] == "two" and b["cwd"] == str(tmp_path)


def test_exit_status_of_the_job_is_the_adapters(tmp_path, sockdir):
    assert _client(tmp_path, "a.json", exit=3).returncode == 3  # in-process
    _served(sockdir)
    proc = _client(tmp_path, "b.json", exit=4)
    assert proc.returncode == 4
    assert json.loads((tmp_path / "b.json").read_text())["torch_preloaded"] is True


def test_a_killed_adapter_takes_its_job_with_it(tmp_path, sockdir):
    _client(tmp_path, "warm.json")
    _served(sockdir)
    client = _client(tmp_path, "job.json", sleep=60, wait=False)
    _wait_for(lambda: (tmp_path / "job.json").exists())
    child = json.loads((tmp_path / "job.json").read_text())["pid"]
    assert child != client.pid and _alive(child)
    client.send_signal(signal.SIGKILL)
    client.wait()
    _wait_for(lambda: not _alive(child), timeout=5)


def test_a_killed_server_fails_the_waiting_job_and_leaves_no_orphan(tmp_path, sockdir):
    _client(tmp_path, "warm.json")
    _served(sockdir)
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLIENT.format(src=str(ROOT / "src"), tests=str(TESTS)),
            json.dumps({"out": str(tmp_path / "job.json"), "sleep": 60}),
            "30",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: (tmp_path / "job.json").exists())
    child = json.loads((tmp_path / "job.json").read_text())["pid"]
    os.kill(_server_pids(sockdir)[0], signal.SIGKILL)
    _, err = client.communicate(timeout=20)
    assert client.returncode == warm_worker.LOST
    assert "warm worker serving this job stopped" in err and "--rerun-incomplete" in err
    _wait_for(lambda: not _alive(child), timeout=5)


def test_the_server_exits_when_idle_and_removes_its_socket(tmp_path, sockdir):
    _client(tmp_path, "a.json", idle=1)
    _served(sockdir)
    server = _server_pids(sockdir)[0]
    _wait_for(lambda: not _alive(server), timeout=15)
    assert not list(sockdir.glob("*.sock"))
    assert "idle: exiting" in next(sockdir.glob("*.log")).read_text()


def test_a_stale_socket_is_replaced(tmp_path, sockdir):
    sockdir.mkdir(mode=0o700)
    stale = sockdir / f"{warm_worker.server_key(SELFTEST)}.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()  # the file stays: as after a server killed with SIGKILL
    assert _client(tmp_path, "a.json").returncode == 0
    _served(sockdir)
    _client(tmp_path, "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["ppid"] == _server_pids(sockdir)[0]


@pytest.mark.parametrize(
    "env",
    [{"SLURM_JOB_ID": "123"}, {"HHNAS_WARM_WORKER": "0"}],
    ids=["under-slurm", "switched-off"],
)
def test_off_under_slurm_and_when_switched_off(tmp_path, sockdir, env):
    for name in ("a.json", "b.json"):
        assert _client(tmp_path, name, env=env).returncode == 0
        assert json.loads((tmp_path / name).read_text())["torch_preloaded"] is False
    assert not sockdir.exists() or not list(sockdir.iterdir())


def test_a_shared_socket_directory_is_refused(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("HHNAS_WORKER_DIR", str(shared))
    out = tmp_path / "o.json"
    settings = {"warm_worker": True, "warm_worker_idle_seconds": 60}
    code = warm_worker.run_job("selftest", {"out": str(out)}, settings, SELFTEST)
    assert code == 0 and json.loads(out.read_text())["pid"] == os.getpid()
    assert "not a private directory" in capsys.readouterr().err
    assert not list(shared.glob("*.sock"))


def test_only_known_jobs_run():
    with pytest.raises(ValueError, match="unknown job 'rm'"):
        warm_worker.run_job("rm", {}, {"warm_worker": False})

    def rogue(payload):
        raise AssertionError("an unregistered function must not run")

    with pytest.raises(ValueError, match="unknown job 'test_jobs_worker:rogue'"):
        warm_worker.run_job(rogue, {}, {"warm_worker": False})
    assert warm_worker.job_name(search_iteration, JOBS) == "search_iteration"
    # The package registers its own jobs only; a test job is the tests' own.
    assert set(JOBS) == {"search_iteration"}


def test_a_server_serves_only_the_registry_it_was_started_with(tmp_path, sockdir):
    assert warm_worker.server_key(SELFTEST) != warm_worker.server_key(JOBS)
    _client(tmp_path, "warm.json")
    _served(sockdir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(next(sockdir.glob("*.sock"))))
    body = json.dumps({"job": "search_iteration", "payload": {}, "cwd": "/", "env": {}}).encode()
    socket.send_fds(sock, [warm_worker.HEADER.pack(len(body))], [1, 2])
    sock.sendall(body)
    assert sock.recv(4) == b""
    sock.close()
    assert "unknown job 'search_iteration'" in next(sockdir.glob("*.log")).read_text()


def test_the_server_refuses_unknown_jobs(tmp_path, sockdir):
    _client(tmp_path, "warm.json")
    _served(sockdir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(next(sockdir.glob("*.sock"))))
    body = json.dumps({"job": "rm", "payload": {}, "cwd": "/", "env": {}}).encode()
    socket.send_fds(sock, [warm_worker.HEADER.pack(len(body))], [1, 2])
    sock.sendall(body)
    assert sock.recv(4) == b""  # closed without running anything
    sock.close()
    assert "unknown job 'rm'" in next(sockdir.glob("*.log")).read_text()


@pytest.mark.slow
def test_a_workflow_gives_the_same_files_with_and_without_the_worker(
    tmp_path, sockdir, feature_run
):
    extra = {
        "run_datasets": ["spider"],
        "tables": {"spider": "spider", "heldout": "spider"},
        "search": {"experiments": 1, "iterations": 5},
    }
    (tmp_path / "wf").mkdir()
    wd = make_workdir(tmp_path / "wf", {**extra, "execution": {"warm_worker": False}})
    seed_features(wd, feature_run)
    run_snakemake(wd)
    assert not sockdir.exists() or not list(sockdir.glob("*.log"))
    cold = final_states(wd)
    assert len(cold) == 10  # 5 states + 5 metrics
    shutil.rmtree(wd / "results/spider/search")
    local = yaml.safe_load((wd / "local.yaml").read_text())
    local["execution"]["warm_worker"] = True
    (wd / "local.yaml").write_text(yaml.safe_dump(local))
    run_snakemake(wd)
    assert final_states(wd) == cold
    # The first iteration ran in its adapter and started the server; later ones were forked.
    log = next(sockdir.glob("*.log")).read_text()
    assert log.count("job search_iteration: child") >= 2
