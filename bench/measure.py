"""Measuring inside a scenario's own process: wall time and peak resident memory, and the shape of a result row."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULT_KEYS = ("scenario", "n", "seconds", "records_per_s", "peak_rss_mb", "ratio_to_limit")


def peak_rss_mb() -> float:
    """The most memory this process has held so far: Linux's high-water mark of the resident set (``VmHWM``). Not
    ``getrusage``'s ``ru_maxrss``: Linux keeps that across ``exec``, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("this system does not report VmHWM in /proc/self/status")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far, from Linux's ``/proc/<pid>/stat``: unlike wall time,
    other processes on the same cores do not inflate it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used so far (user, nice, system, interrupts; not idle, I/O wait or
    time the hypervisor took), from Linux's ``/proc/stat``: over a measurement, what the hub, the connector and the
    database server used together, and with the wall time how many cores were kept busy."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass
class Clock:
    """Started when made: the wall time, this process's CPU and the whole machine's CPU of a measurement."""

    wall: float = field(default_factory=time.perf_counter)
    own: float = field(default_factory=time.process_time)
    machine: float = field(default_factory=machine_cpu_seconds)

    def read(self) -> tuple[float, dict[str, Any]]:
        """The seconds since the start, and the CPU row: this process's CPU (the hub; the limit's bare client and
        driver), the whole machine's, and the cores that kept busy."""
        seconds = time.perf_counter() - self.wall
        own, machine = time.process_time() - self.own, machine_cpu_seconds() - self.machine
        return seconds, {
            "cpu_seconds": round(own, 2),
            "machine_cpu_seconds": round(machine, 2),
            "cores_busy": round(machine / seconds, 2) if seconds > 0 else None,
        }


def result(
    scenario: str,
    n: int,
    seconds: float,
    *,
    records: int | None = None,
    ratio_to_limit: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One JSON row: the common keys first, then what the scenario adds."""
    return {
        "scenario": scenario,
        "n": n,
        "seconds": round(seconds, 4),
        "records_per_s": round(records / seconds) if records and seconds > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
        "ratio_to_limit": None if ratio_to_limit is None else round(ratio_to_limit, 2),
        **extra,
    }


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.99 is p99) of at least one sample."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
