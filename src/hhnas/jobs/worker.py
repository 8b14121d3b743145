"""A warm worker for short jobs: a resident process that has imported torch once and forks a
child for each job, so a quick-profile search iteration does not spend most of its time starting
Python and importing torch (1.5 s of CPU per job on the 2-core machine; a quick candidate trains
in 1-4 s).

A job's client (scripts/search_iteration.py) calls :func:`run_job` with the job's function. With
the worker enabled it connects to a Unix socket private to this user, this Python and this
source tree; the server forks, the child takes over the job's stdout/stderr (passed as file
descriptors), working directory and environment, runs the job function and exits; the adapter
returns the child's exit status. When no server is running, the adapter starts one in the
background and runs its own job in-process, so nothing ever waits for a server. A child starts
from the server's state, which is a freshly imported torch/NumPy and nothing else: the package's
own modules are imported in each child, so an edit to the code is seen by the next job, and
results are the same as without the worker (tests/test_jobs_worker.py runs a workflow both ways
and compares the files).

Lifetime: the server exits after ``idle_seconds`` without a job. If the adapter dies (Snakemake
killed or interrupted), the server kills the job's child; if the server dies, its children die
with it (PR_SET_PDEATHSIG) and a waiting adapter says so and fails the job, which
``--rerun-incomplete`` redoes. Disabled under SLURM (a daemon started inside one cluster job
would be killed with that job's cgroup) and with ``HHNAS_WARM_WORKER=0``.

The client side imports five standard-library modules and nothing else (the rest is imported
where the server or a child needs it): it runs once per job, on the machine's critical path.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

from hhnas.jobs import JOBS

# Names for annotations only: importing typing would cost the client a fifth of its start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypedDict

    class WorkerSettings(TypedDict):
        """``execution.warm_worker`` and ``execution.warm_worker_idle_seconds``."""

        warm_worker: bool
        warm_worker_idle_seconds: float


# What the server imports before it serves: the slow third-party imports of a search iteration
# (optuna-tpe's SQLite study pulls in sqlalchemy and alembic: 0.4 s per job otherwise).
PRELOAD = (
    "numpy",
    "torch",
    "yaml",
    "optuna",
    "optuna.samplers",
    "optuna.storages._rdb.storage",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "alembic.command",
    "alembic.migration",
    "alembic.script",
)
SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
HEADER = struct.Struct("!Q")
STATUS = struct.Struct("!i")
# sun_path is 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 108
# Exit status of a job whose worker vanished before reporting (a server killed from outside).
LOST = 75


def enabled(settings: WorkerSettings) -> bool:
    """The ``execution.warm_worker`` setting, overridden by the environment where it cannot
    work or the user says no (``HHNAS_WARM_WORKER=0``)."""
    if os.environ.get("HHNAS_WARM_WORKER", "") == "0":
        return False
    if os.environ.get("SLURM_JOB_ID"):
        return False
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return False
    return bool(settings["warm_worker"])


def client_settings(warm_worker: str, idle_seconds: str) -> WorkerSettings:
    """The warm-worker settings a job's client gets on its command line (rules/search.smk passes
    ``execution.warm_worker`` as 0/1 and ``execution.warm_worker_idle_seconds``)."""
    if warm_worker not in ("0", "1"):
        raise ValueError(f"warm_worker must be 0 or 1, got {warm_worker!r}")
    return {"warm_worker": warm_worker == "1", "warm_worker_idle_seconds": float(idle_seconds)}


def socket_dir() -> str:
    """A directory only this user can enter (the socket runs jobs as this user)."""
    path = os.environ.get("HHNAS_WORKER_DIR")
    if not path:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        root = runtime if runtime and os.path.isdir(runtime) else "/tmp"
        path = os.path.join(root, f"hhnas-worker-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{path}: not a private directory of this user")
    return path


def server_key(jobs: Mapping[str, str] = JOBS) -> str:
    """One server per interpreter, source tree and job registry: a server holds the imports of
    one Python, its children import the package from the tree they were started for, and it
    runs only the jobs of the registry it was started with."""
    import hashlib

    ident = json.dumps(
        [os.path.realpath(sys.executable), sys.version, SRC_DIR, PRELOAD, sorted(jobs.items())]
    )
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def job_name(function: Callable[[dict[str, Any]], None], jobs: Mapping[str, str]) -> str:
    """The registry's name of a job function: a client names a registered job, never code."""
    target = f"{function.__module__}:{function.__name__}"
    for name, registered in jobs.items():
        if registered == target:
            return name
    raise ValueError(f"unknown job {target!r} (registered: {', '.join(sorted(jobs.values()))})")


def run_job(
    job: Callable[[dict[str, Any]], None] | str,
    payload: dict[str, Any],
    settings: WorkerSettings,
    jobs: Mapping[str, str] = JOBS,
) -> int:
    """Run the job function ``job`` (or its name), registered in ``jobs``, with ``payload`` in
    the warm worker when ``settings`` (execution.warm_worker, warm_worker_idle_seconds) enable
    it, else in this process; return the exit status for the caller to exit with."""
    if not isinstance(job, str):
        job = job_name(job, jobs)
    elif job not in jobs:
        raise ValueError(f"unknown job {job!r} (known: {', '.join(sorted(jobs))})")
    if not enabled(settings):
        return run_local(jobs[job], payload)
    try:
        directory = socket_dir()
    except OSError as exc:
        print(f"hhnas: warm worker off ({exc}); running in this process", file=sys.stderr)
        return run_local(jobs[job], payload)
    path = os.path.join(directory, f"{server_key(jobs)}.sock")
    if len(os.fsencode(path)) >= MAX_SOCKET_PATH:
        print(f"hhnas: warm worker off ({path}: too long for a socket)", file=sys.stderr)
        return run_local(jobs[job], payload)
    try:
        sock = _connect(path)
    except OSError:
        idle = float(settings["warm_worker_idle_seconds"])
        _start_server(path, idle, jobs)
        return run_local(jobs[job], payload)
    with sock:
        return _request(sock, job, payload)


def run_local(target: str, payload: dict[str, Any]) -> int:
    """Run the job function ``target`` ("module:function") in this process; its exit status
    (SystemExit) or 1 after a traceback."""
    import importlib

    module, _, name = target.partition(":")
    func: Callable[[dict[str, Any]], None] = getattr(importlib.import_module(module), name)
    try:
        func(payload)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:  # noqa: BLE001 - the adapter exits with a status, like a crashed script
        import traceback

        traceback.print_exc()
        return 1
    return 0


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def _request(sock: socket.socket, job: str, payload: dict[str, Any]) -> int:
    message = json.dumps(
        {"job": job, "payload": payload, "cwd": os.getcwd(), "env": dict(os.environ)}
    ).encode()
    sys.stdout.flush()
    sys.stderr.flush()
    socket.send_fds(sock, [HEADER.pack(len(message))], [1, 2])
    sock.sendall(message)
    reply = _recv_exact(sock, STATUS.size)
    if reply is None:
        print(
            "hhnas error: the warm worker serving this job stopped before the job ended; "
            "re-run with --rerun-incomplete (HHNAS_WARM_WORKER=0 runs jobs without it)",
            file=sys.stderr,
        )
        return LOST
    return STATUS.unpack(reply)[0]


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _sibling(path: str, suffix: str) -> str:
    return os.path.splitext(path)[0] + suffix


def _start_server(path: str, idle_seconds: float, jobs: Mapping[str, str]) -> None:
    """Start a server in its own session; it outlives this job and serves the next ones."""
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC_DIR, env.get("PYTHONPATH")]))
    log = open(_sibling(path, ".log"), "ab")  # noqa: SIM115 - handed to the child
    with log:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hhnas.jobs.worker",
                path,
                str(idle_seconds),
                json.dumps(dict(jobs)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            env=env,
        )


def serve(path: str, idle_seconds: float, jobs: Mapping[str, str] = JOBS) -> None:
    """Bind ``path`` (unless another server holds it), import PRELOAD, fork a child per job of
    the registry ``jobs``."""
    import contextlib
    import fcntl
    import importlib
    import select
    import signal
    import time

    lock = open(_sibling(path, ".lock"), "w")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another server for this key started first
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a socket left by a server that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    # Clients that connect now wait in the backlog; each would have paid these imports itself.
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    log(f"serving {path} (pid {os.getpid()}, idle exit after {idle_seconds:g} s)")
    children: dict[int, socket.socket] = {}
    last_busy = time.monotonic()
    try:
        while children or time.monotonic() - last_busy < idle_seconds:
            ready, _, _ = select.select([listener, *children.values()], [], [], 0.5)
            for sock in ready:
                if sock is listener:
                    conn, _ = listener.accept()
                    pid = _fork_job(conn, jobs, [listener, lock, *children.values()])
                    if pid is not None:
                        children[pid] = conn
                else:
                    # The adapter went away (Snakemake killed or interrupted): so does its job.
                    for pid, conn in list(children.items()):
                        if conn is sock:
                            with contextlib.suppress(ProcessLookupError):
                                os.kill(pid, signal.SIGKILL)
            _reap(children)
            if children:
                last_busy = time.monotonic()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener.close()
        log("idle: exiting")


def _reap(children: dict[int, socket.socket]) -> None:
    import contextlib

    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            continue
        conn = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            conn.sendall(STATUS.pack(code if code >= 0 else 128 - code))
        conn.close()


def _fork_job(conn: socket.socket, jobs: Mapping[str, str], inherited: list[Any]) -> int | None:
    """Read one request and fork its child; None (and the connection closed) if it is bad."""
    import contextlib
    import signal

    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        uid = struct.unpack("3i", creds)[1]
        if uid != os.getuid():
            raise PermissionError(f"a client of uid {uid} was refused")
        header, fds, _, _ = socket.recv_fds(conn, HEADER.size, 2)
        if len(header) < HEADER.size or len(fds) != 2:
            raise ValueError("malformed request")
        body = _recv_exact(conn, HEADER.unpack(header)[0])
        if body is None:
            raise ValueError("truncated request")
        request = json.loads(body)
        if request.get("job") not in jobs:
            raise ValueError(f"unknown job {request.get('job')!r}")
    except (OSError, ValueError) as exc:
        log(f"refused a request: {exc}")
        conn.close()
        return None
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        log(f"job {request['job']}: child {pid}")
        return pid
    # The child: become the job.
    code = 1
    try:
        # The listener, the lock and other jobs' connections belong to the server.
        for obj in inherited:
            obj.close()
        _die_with_parent()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (devnull, *fds):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        code = run_local(jobs[request["job"]], request["payload"])
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _die_with_parent() -> None:
    """Linux: the kernel kills this child when the server exits, so no job outlives it."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def log(message: str) -> None:
    import time

    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}", flush=True)


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]))
