"""How an iteration job's configuration travels: parsed once, under few names.

Measured on a real job (the registered `search_iteration`, from its JSON payload to the metrics
file) by tracing every call into the package: the names (parameters and local variables) that
hold the job's configuration or a part of it (the JobConfig, its typed sections, the mapping
they came from, every mapping inside it, and any section parsed from it again), and how often a
section is parsed (`from_mapping`). Issue 22 asked for at most 30 names and one parse per job.
By this measure the job of commit 7b864a6 (before the redesign) held its configuration under 10
names and parsed a section 6 times (Search twice, Training four times).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from test_jobs_iteration import cfg, files  # noqa: F401 - fixtures

import hhnas
from hhnas.config.job import JobConfig
from hhnas.jobs import search_iteration

SRC = str(Path(hhnas.__file__).parent)
MAX_NAMES = 30


def parts(config: object) -> dict[int, str]:
    """id -> where, for the job's configuration and every section or mapping inside it."""
    out: dict[int, str] = {}

    def walk(obj: object, where: str) -> None:
        if id(obj) in out:
            return
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            out[id(obj)] = where
            for f in dataclasses.fields(obj):
                walk(getattr(obj, f.name), f"{where}.{f.name}")
        elif isinstance(obj, dict):
            out[id(obj)] = where
            for key, value in obj.items():
                walk(value, f"{where}[{key!r}]")

    walk(config, "config")
    return out


class ConfigTrace:
    """While active, records the names (parameters and local variables) under which functions
    whose file starts with `prefix` hold a part of the job's configuration (`known`: from
    :func:`parts`, or taken from the first `run_iteration` call, plus every section parsed from
    it later), and every `from_mapping` call."""

    def __init__(self, prefix: str, known: dict[int, str] | None = None) -> None:
        self.prefix = prefix
        self.known = dict(known or {})
        self.names: dict[str, set[str]] = {}
        self.parses: list[str] = []

    def _tracer(self, frame, event, arg):
        code = frame.f_code
        if event != "call" or not code.co_filename.startswith(self.prefix):
            return None
        if code.co_name == "run_iteration" and not self.known:
            self.known.update(parts(frame.f_locals["job"].config))
        parse = code.co_name == "from_mapping"
        if parse:
            self.parses.append(code.co_qualname)
        self._record(frame)
        # Only the frame's return is needed (its locals then, and a parsed section's result).
        frame.f_trace_lines = False
        return self._on_return if self.known or parse else None

    def _record(self, frame) -> None:
        for name, value in frame.f_locals.items():
            if value is not None and id(value) in self.known:
                self.names.setdefault(name, set()).add(frame.f_code.co_qualname)

    def _on_return(self, frame, event, arg):
        if event != "return":
            return self._on_return
        self._record(frame)
        if frame.f_code.co_name == "from_mapping" and arg is not None and self.known:
            # A section parsed again is still the job's configuration: follow the copy.
            for key, where in parts(arg).items():
                self.known.setdefault(key, where)
        return self._on_return

    def __enter__(self) -> ConfigTrace:
        sys.settrace(self._tracer)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)


def payload(cfg: dict, files: dict, tmp_path: Path) -> dict:  # noqa: F811
    return {
        "config": json.loads(json.dumps(cfg)),
        "dataset": "spider",
        "experiment": 1,
        "iteration": 0,
        "prev_state": None,
        "inputs": files,
        "out_state": str(tmp_path / "state_0.json"),
        "out_metrics": str(tmp_path / "metrics_0.json"),
        "variant": "hhnas",
        "log": str(tmp_path / "iteration_0.log"),
    }


def test_the_job_config_reaches_the_training_loop_parsed_once_under_few_names(
    cfg,  # noqa: F811
    files,  # noqa: F811
    tmp_path,
) -> None:
    with ConfigTrace(SRC) as trace:
        search_iteration(payload(cfg, files, tmp_path))
    names, parses = trace.names, trace.parses
    assert (tmp_path / "metrics_0.json").exists()
    # The training loop and the strategy are reached: the measure covers the whole path.
    receivers = {f for fs in names.values() for f in fs}
    assert "fit" in receivers, sorted(receivers)
    assert "SearchStrategy.__init__" in receivers, sorted(receivers)
    report = "\n".join(f"{n}: {sorted(fs)}" for n, fs in sorted(names.items()))
    print(f"{len(names)} names\n{report}")
    assert len(names) <= MAX_NAMES, report
    # One parse per job: JobConfig.from_mapping, and the sections it builds, nothing after.
    assert parses[0] == "JobConfig.from_mapping", parses
    assert parses.count("JobConfig.from_mapping") == 1, parses
    sections = [p for p in parses[1:] if p != "JobConfig.from_mapping"]
    assert len(sections) == len(set(sections)), f"a section parsed twice: {parses}"


def test_the_measure_sees_every_name_a_part_of_the_config_travels_under(cfg) -> None:  # noqa: F811
    # The tracer must be able to fail: a section or an inner mapping handed on under a new name
    # shows up as that name, and a value that is not part of the configuration does not.
    config = JobConfig.from_mapping(cfg)

    def leaf(a_new_name, unrelated, inner_mapping=None):
        return a_new_name, unrelated, inner_mapping

    with ConfigTrace(__file__, parts(config)) as trace:
        leaf(config.training, {"epochs": 3}, inner_mapping=config.raw["search"])
    assert set(trace.names) == {"a_new_name", "inner_mapping"}
