"""Where a workflow run's wall time goes: each job's own work against what Snakemake spent on it.

    .venv/bin/python benchmarks/bench_workflow.py --run -- --cores 2      # make run, timed
    .venv/bin/python benchmarks/bench_workflow.py --run -- --cores 2 results/comparison.html
    .venv/bin/python benchmarks/bench_workflow.py                         # the newest run's log

`--run` empties nothing: start from an empty results/ (`make clean`) to measure a whole run. It
runs Snakemake in-process-equivalent (`python -m snakemake`) with the arguments after `--`, and
records the wall time and the Snakemake main process's own CPU time (its threads included, its
child processes not).

It then reads the run's Snakemake log (.snakemake/log/, one-second timestamps: when Snakemake
started each job and when it saw it finish) and each job's own log, whose last line
(hhnas.jobs.log) holds the job's own wall and CPU seconds. Printed per rule: jobs, their own
seconds, the seconds between Snakemake starting and finishing them, the overhead per job (the
difference), and for the whole run the floor (the larger of the jobs' core-seconds over the
cores and the critical path of the DAG, both from the jobs' own seconds) against the measured
wall time. Last, what the iteration jobs spent appending to the Optuna mirror (the line each
writes to its log), as a share of the wall time.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hhnas.jobs.log import read_timing  # noqa: E402

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\S+)\)$")
# What an iteration job logs after appending to the Optuna mirror (hhnas.jobs.iteration).
MIRROR = re.compile(r"optuna mirror: (\d+) trial\(s\) appended in ([0-9.]+)s$")
# The Snakemake main process's CPU seconds, printed by the wrapper below at exit.
RUSAGE_MARK = "bench_workflow: snakemake main process cpu "
WRAPPER = f"""
import atexit, resource, sys
def _report():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print({RUSAGE_MARK!r} + repr(ru.ru_utime + ru.ru_stime), file=sys.stderr, flush=True)
atexit.register(_report)
from snakemake.cli import main
sys.argv = ["snakemake"] + sys.argv[1:]
main()
"""


@dataclass
class Job:
    jobid: int
    rule: str
    start: float
    end: float | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    log: str | None = None
    threads: int = 1
    own_wall: float | None = None
    own_cpu: float | None = None


def _stamp(text: str) -> float:
    return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y").timestamp()


def parse_log(path: Path) -> tuple[list[Job], float, float]:
    """Jobs with their start/finish times, and the first and last timestamps of the log."""
    jobs: dict[int, Job] = {}
    pending: Job | None = None
    now = first = last = None
    lines = path.read_text(errors="replace").splitlines()
    for line in lines:
        m = STAMP.match(line)
        if m:
            now = _stamp(m.group(1))
            first = now if first is None else first
            last = now
            pending = None
            continue
        m = START.match(line)
        if m and now is not None:
            pending = Job(jobid=-1, rule=m.group(1), start=now)
            continue
        m = FINISHED.match(line)
        if m and now is not None and int(m.group(1)) in jobs:
            jobs[int(m.group(1))].end = now
            continue
        if pending is not None and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key == "jobid":
                pending.jobid = int(value)
                jobs[pending.jobid] = pending
            elif key == "input":
                pending.inputs = [v.strip() for v in value.split(",")]
            elif key == "output":
                pending.outputs = [v.strip() for v in value.split(",")]
            elif key == "log":
                pending.log = value.split(",")[0].strip()
            elif key == "threads":
                pending.threads = int(value)
    if first is None:
        raise SystemExit(f"{path}: no timestamps; is it a Snakemake log?")
    return list(jobs.values()), first, last


def attach_timings(jobs: list[Job], workdir: Path) -> None:
    for job in jobs:
        timing = read_timing(workdir / job.log) if job.log else None
        if timing:
            job.own_wall, job.own_cpu = timing["wall"], timing["cpu"]


def mirror_seconds(jobs: list[Job], workdir: Path) -> tuple[int, float]:
    """Iteration jobs that appended to the Optuna mirror, and the seconds they spent on it."""
    count, seconds = 0, 0.0
    for job in jobs:
        if not job.log or not (workdir / job.log).exists():
            continue
        for line in (workdir / job.log).read_text(errors="replace").splitlines():
            m = MIRROR.search(line)
            if m:
                count += 1
                seconds += float(m.group(2))
    return count, seconds


def critical_path(jobs: list[Job]) -> float:
    """Longest chain of the jobs' own seconds through the DAG (inputs -> producing job)."""
    producer = {out: job for job in jobs for out in job.outputs}
    memo: dict[int, float] = {}

    def longest(job: Job) -> float:
        if job.jobid not in memo:
            parents = {producer[i].jobid: producer[i] for i in job.inputs if i in producer}
            memo[job.jobid] = (job.own_wall or 0.0) + max(
                (longest(p) for p in parents.values()), default=0.0
            )
        return memo[job.jobid]

    sys.setrecursionlimit(max(10_000, 4 * len(jobs)))
    return max((longest(j) for j in jobs), default=0.0)


def report(jobs: list[Job], wall: float, cores: int, main_cpu: float | None) -> str:
    by_rule: dict[str, list[Job]] = collections.defaultdict(list)
    for job in jobs:
        by_rule[job.rule].append(job)
    rows = []
    header = (
        f"{'rule':<22}{'jobs':>6}{'own s':>10}{'own cpu s':>11}{'snakemake s':>13}"
        f"{'overhead/job s':>16}"
    )
    rows.append(header)
    rows.append("-" * len(header))
    core_seconds = 0.0
    for rule, group in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        timed = [j for j in group if j.own_wall is not None and j.end is not None]
        own = sum(j.own_wall for j in timed)
        cpu = sum(j.own_cpu for j in timed)
        seen = sum(j.end - j.start for j in timed)
        core_seconds += sum(j.own_wall * j.threads for j in timed)
        per_job = (seen - own) / len(timed) if timed else float("nan")
        untimed = (
            f"  ({len(group) - len(timed)} without a timing line)"
            if len(timed) < len(group)
            else ""
        )
        rows.append(
            f"{rule:<22}{len(group):>6}{own:>10.1f}{cpu:>11.1f}{seen:>13.1f}{per_job:>16.2f}"
            + untimed
        )
    path = critical_path(jobs)
    floor = max(core_seconds / cores, path)
    rows.append("")
    rows.append(
        f"jobs' own core-seconds {core_seconds:.0f} s over {cores} cores: "
        f"{core_seconds / cores:.0f} s"
    )
    rows.append(f"critical path of the jobs' own seconds: {path:.0f} s")
    rows.append(f"floor (the larger): {floor:.0f} s = {floor / 60:.1f} min")
    rows.append(
        f"measured wall time: {wall:.0f} s = {wall / 60:.1f} min, {wall / floor:.2f}x the floor"
        if floor
        else f"measured wall {wall:.0f} s"
    )
    if jobs:
        rows.append(
            f"wall time per job beyond the floor: {(wall - floor) * cores / len(jobs):.2f} core-s"
        )
    if main_cpu is not None:
        rows.append(
            f"Snakemake main process CPU: {main_cpu:.0f} s "
            f"({main_cpu / max(len(jobs), 1):.3f} s per job)"
        )
    return "\n".join(rows)


def newest_log(workdir: Path) -> Path:
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        raise SystemExit(f"{workdir}: no .snakemake/log/*.snakemake.log; run the workflow first")
    return logs[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="store_true", help="run snakemake first, timed")
    parser.add_argument("--workdir", type=Path, default=ROOT)
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help="cores for the floor (default: --cores of the run, else 2)",
    )
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("snakemake_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    sm_args = [a for a in args.snakemake_args if a != "--"]
    cores = args.cores
    if cores is None and "--cores" in sm_args:
        cores = int(sm_args[sm_args.index("--cores") + 1])
    cores = cores or 2
    main_cpu = None
    if args.run:
        start = time.time()
        proc = subprocess.run(
            [args.python, "-c", WRAPPER, *sm_args],
            cwd=args.workdir,
            stderr=subprocess.PIPE,
            text=True,
        )
        wall = time.time() - start
        for line in proc.stderr.splitlines():
            if line.startswith(RUSAGE_MARK):
                main_cpu = float(line[len(RUSAGE_MARK) :])
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-5000:])
            raise SystemExit(f"snakemake failed with exit status {proc.returncode}")
    log = newest_log(args.workdir)
    jobs, first, last = parse_log(log)
    attach_timings(jobs, args.workdir)
    if not args.run:
        wall = last - first
    print(f"{log.relative_to(args.workdir)}: {len(jobs)} jobs")
    print(report(jobs, wall, cores, main_cpu))
    appends, seconds = mirror_seconds(jobs, args.workdir)
    if appends:
        # The appends run inside the jobs, beside the other core's work: at most their seconds
        # over the cores come off the wall time when the mirror is off.
        print(
            f"Optuna mirror: {appends} jobs appended, {seconds:.1f} s in all "
            f"({seconds / appends * 1000:.0f} ms per job); {seconds / cores:.1f} s over "
            f"{cores} cores = {100 * seconds / cores / wall:.2f} % of the wall time"
        )


if __name__ == "__main__":
    main()
