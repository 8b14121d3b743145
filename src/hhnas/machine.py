"""Which machine made the numbers: floating-point results are bit-identical for the same code,
seed, CPU model and thread count, not across CPU models (README "Reproducibility")."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TypedDict

CPUINFO = Path("/proc/cpuinfo")


class CPU(TypedDict):
    """The CPU as /proc/cpuinfo names it (``model_name``) and the keys that tell two models
    apart when the name does not ("AMD EPYC" covers many), with the cores this process may
    use."""

    model_name: str
    vendor_id: str
    family: str
    model: str
    machine: str
    cores: int


class Machine(TypedDict):
    """The CPU and the threads a result was computed with."""

    cpu: CPU
    threads: int


def cpu_info(cpuinfo: Path = CPUINFO) -> CPU:
    """The first processor's entries of ``cpuinfo`` ("unknown" where absent: macOS, Windows, a
    container without /proc) and the cores this process may run on."""
    found: dict[str, str] = {}
    try:
        text = cpuinfo.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key not in found:
            found[key] = value.strip()
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return {
        "model_name": found.get("model name") or platform.processor() or "unknown",
        "vendor_id": found.get("vendor_id", "unknown"),
        "family": found.get("cpu family", "unknown"),
        "model": found.get("model", "unknown"),
        "machine": platform.machine() or "unknown",
        "cores": cores,
    }


def describe_cpu(cpu: CPU) -> str:
    """One line for a report: 'AMD EPYC (AuthenticAMD family 25 model 17, x86_64, 2 cores)'."""
    return (
        f"{cpu['model_name']} ({cpu['vendor_id']} family {cpu['family']} model {cpu['model']}, "
        f"{cpu['machine']}, {cpu['cores']} {'core' if cpu['cores'] == 1 else 'cores'})"
    )


def machine(threads: int) -> Machine:
    """This machine's CPU and the given thread count (the job's, from its config)."""
    return {"cpu": cpu_info(), "threads": int(threads)}
