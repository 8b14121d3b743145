"""What starting one short job costs, piece by piece, outside the job's own work.

    .venv/bin/python benchmarks/bench_job_start.py [--repeat 20] [--dataset-dir results/spider]

Each figure is the CPU seconds (user + system) of the processes involved, median of --repeat:
  python start-up        `python -c pass`
  script: preamble       what Snakemake's `script:` directive runs before an adapter's first
                         line: import Snakemake's logging and iocontainers, unpickle the job's
                         `snakemake` object (a real one, with a search iteration's params)
  shell: client          scripts/search_iteration.py starting and asking the warm worker for a
                         no-op job (its own process only)
  worker fork + child    the resident server forking and the child running the no-op job, read
                         from /proc (server) and the child's own clock
  package import         importing hhnas.jobs.iteration in a child that has torch preloaded
  feature load           reading one dataset's rows and cached features (--dataset-dir)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))


JOBS = {"noop": "bench_job_start:noop", "child_import": "bench_job_start:child_import"}


def noop(payload: dict) -> None:
    """The job the worker figures run: records its own CPU time since the fork."""
    Path(payload["out"]).write_text(json.dumps({"cpu": time.process_time()}))


def child_import(payload: dict) -> None:
    start = time.process_time()
    import hhnas.jobs.iteration  # noqa: F401

    Path(payload["out"]).write_text(json.dumps({"cpu": time.process_time() - start}))


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run_cpu(cmd: list[str], env: dict | None = None) -> float:
    before = _children_cpu()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return _children_cpu() - before


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def preamble_script(tmp: Path) -> Path:
    """A script with the preamble Snakemake 9 writes for a search iteration's adapter."""
    import yaml
    from snakemake.iocontainers import (
        InputFiles,
        Log,
        OutputFiles,
        Params,
        Snakemake,
        Wildcards,
    )
    from snakemake.script import get_snakemake_searchpaths

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    d = "results/spider"
    sm = Snakemake(
        InputFiles([f"{d}/data/dataset.jsonl", f"{d}/features/llm.npy"]),
        OutputFiles([f"{d}/search/hhnas/exp1/state_1.json"]),
        Params([config["search"]], fromdict={"search": config["search"]}),
        Wildcards(["spider", "1", "1"]),
        1,
        {},
        Log([f"results/logs/{d}/iteration_1.log"]),
        config,
        "search_iteration",
        None,
        str(ROOT / "scripts"),
    )
    blob = pickle.dumps(sm, protocol=4)
    script = tmp / "preamble.py"
    script.write_text(
        f"import sys; sys.path.extend({get_snakemake_searchpaths()!r}); import pickle; "
        f"snakemake = pickle.loads({blob!r}); from snakemake.logging import logger; "
        "from snakemake.iocontainers import Snakemake\n"
    )
    return script


def worker_figures(tmp: Path, repeat: int) -> tuple[list[float], list[float], list[float]]:
    env = {
        **os.environ,
        "HHNAS_WORKER_DIR": str(tmp / "sock"),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "src")]),
    }
    # What scripts/search_iteration.py does, with the benchmark's own job registry.
    client = (
        "import json, sys; sys.path.insert(0, {src!r}); "
        "from hhnas.jobs.worker import run_job; "
        "sys.exit(run_job(sys.argv[1], {{'out': sys.argv[2]}}, "
        "{{'warm_worker': True, 'warm_worker_idle_seconds': 30}}, {jobs!r}))"
    ).format(src=str(ROOT / "src"), jobs=JOBS)
    out = tmp / "out.json"
    cmd = [sys.executable, "-c", client]
    subprocess.run([*cmd, "noop", str(out)], check=True, env=env)  # starts the server
    log = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = list((tmp / "sock").glob("*.log"))
        if logs and "serving" in logs[0].read_text():
            log = logs[0]
            break
        time.sleep(0.1)
    if log is None:
        raise SystemExit("the warm worker did not start")
    pid = int(log.read_text().split("(pid ")[1].split(",")[0])
    clients, forks, imports = [], [], []
    for _ in range(repeat):
        server_before = _proc_cpu(pid)
        clients.append(_run_cpu([*cmd, "noop", str(out)], env=env))
        forks.append(_proc_cpu(pid) - server_before + json.loads(out.read_text())["cpu"])
        _run_cpu([*cmd, "child_import", str(out)], env=env)
        imports.append(json.loads(out.read_text())["cpu"])
    os.kill(pid, 15)
    return clients, forks, imports


def feature_load(dataset_dir: Path, repeat: int) -> list[float]:
    from hhnas.jobs.iteration import load_features

    inputs = {
        "rows": str(dataset_dir / "data" / "dataset.jsonl"),
        "classes": str(dataset_dir / "data" / "classes.json"),
        **{k: str(dataset_dir / "features" / f"{k}.npy") for k in ("backbone", "llm", "linking")},
    }
    times = []
    for _ in range(repeat):
        start = time.process_time()
        load_features(inputs, with_backbone=True)
        times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dataset-dir", type=Path, default=ROOT / "results" / "spider")
    args = parser.parse_args()
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows.append(
            (
                "python start-up",
                [_run_cpu([sys.executable, "-c", "pass"]) for _ in range(args.repeat)],
            )
        )
        script = preamble_script(tmp)
        rows.append(
            (
                "script: preamble (with start-up)",
                [_run_cpu([sys.executable, str(script)]) for _ in range(args.repeat)],
            )
        )
        clients, forks, imports = worker_figures(tmp, args.repeat)
        rows.append(("warm-worker client (with start-up)", clients))
        rows.append(("worker fork + no-op child", forks))
        rows.append(("package import in a child", imports))
    if (args.dataset_dir / "features" / "backbone.npy").exists():
        rows.append(
            (
                f"feature load ({args.dataset_dir.name})",
                feature_load(args.dataset_dir, max(3, args.repeat // 4)),
            )
        )
    print(f"{'piece':<38}{'median cpu s':>14}{'min':>8}{'max':>8}   (n)")
    for name, values in rows:
        print(
            f"{name:<38}{statistics.median(values):>14.3f}{min(values):>8.3f}"
            f"{max(values):>8.3f}   ({len(values)})"
        )


if __name__ == "__main__":
    main()
