"""hhnas.machine: the CPU a result was computed on, read from /proc/cpuinfo."""

from __future__ import annotations

from pathlib import Path

from hhnas.machine import cpu_info, describe_cpu, machine

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 99
model name\t: not the first processor
"""


def test_the_first_processor_names_the_cpu(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    cpu = cpu_info(path)
    assert cpu["model_name"] == "AMD EPYC 9R14 96-Core Processor"
    assert (cpu["vendor_id"], cpu["family"], cpu["model"]) == ("AuthenticAMD", "25", "17")
    assert cpu["cores"] >= 1


def test_a_machine_without_cpuinfo_says_unknown(tmp_path: Path) -> None:
    cpu = cpu_info(tmp_path / "absent")
    assert (cpu["vendor_id"], cpu["family"], cpu["model"]) == ("unknown",) * 3
    assert cpu["model_name"]  # platform.processor() or "unknown", never empty


def test_describe_cpu_says_everything_that_tells_two_cpus_apart() -> None:
    cpu = {
        "model_name": "AMD EPYC",
        "vendor_id": "AuthenticAMD",
        "family": "25",
        "model": "17",
        "machine": "x86_64",
        "cores": 2,
    }
    assert describe_cpu(cpu) == "AMD EPYC (AuthenticAMD family 25 model 17, x86_64, 2 cores)"
    assert describe_cpu({**cpu, "cores": 1}).endswith("1 core)")


def test_machine_records_the_threads_it_is_given() -> None:
    assert machine(3)["threads"] == 3
