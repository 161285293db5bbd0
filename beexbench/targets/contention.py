"""Signs that the machine was busy with other work: read before and after a timed loop.

A timing is only as good as the machine was quiet while it ran. These readings are
cheap (two procfs files and one getrusage call) and taken outside the timed span:
the number of runnable threads now and the 1-minute load average (`/proc/loadavg`),
the CPU time the hypervisor stole (`/proc/stat`), this
process's involuntary context switches (it was preempted: something else wanted its
core), and on boards whether the firmware reports throttling now. Every procfs read
goes through BEEXBENCH_SYSROOT, so tests can fake a loaded machine.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

from beexbench.targets.sysroot import read_text


@dataclass(frozen=True)
class Snapshot:
    """One reading; None where the machine does not expose the item."""

    when: float  # time.monotonic()
    load1: float | None  # 1-minute load average (lags: a job that just ended still shows)
    runnable: int | None  # threads runnable at this instant, this process's included
    own_running: int | None  # of those, this process's (an OpenMP pool spins runnable)
    steal_ticks: int | None  # cumulative, all CPUs
    total_ticks: int | None  # cumulative, all CPUs
    idle_ticks: int | None  # cumulative idle and iowait, all CPUs
    involuntary_switches: int  # this process, all its threads
    own_cpu_s: float = 0.0  # this process's CPU time so far, all its threads
    throttled: bool | None = None  # board firmware's "throttled now" (None: not readable)


def usable_cores() -> int:
    """The CPUs this process may run on: the cores a run can use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _loadavg() -> tuple[float | None, int | None]:
    """(1-minute load average, runnable threads now) from /proc/loadavg's first and fourth
    fields ("0.52 0.58 0.59 3/219 12345": 3 runnable of 219)."""
    probe = read_text("/proc/loadavg")
    if not probe.ok:
        return None, None
    fields = probe.value.split()
    try:
        load1 = float(fields[0])
    except (IndexError, ValueError):
        load1 = None
    try:
        runnable = int(fields[3].split("/")[0])
    except (IndexError, ValueError):
        runnable = None
    return load1, runnable


def _cpu_ticks() -> tuple[int | None, int | None, int | None]:
    """(steal, total, idle + iowait) jiffies of the aggregate `cpu` line of /proc/stat."""
    probe = read_text("/proc/stat")
    if not probe.ok:
        return None, None, None
    for line in probe.value.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            try:
                ticks = [int(f) for f in fields[1:]]
            except ValueError:
                return None, None, None
            # user nice system idle iowait irq softirq steal [guest guest_nice]: guest
            # time is already counted in user, so the total stops at steal.
            steal = ticks[7] if len(ticks) > 7 else None
            idle = sum(ticks[3:5])
            return steal, sum(ticks[:8]), idle
    return None, None, None


def own_running_threads() -> int | None:
    """This process's threads in state R (running or runnable) now: the process's own
    /proc/self, not the machine's, so it is read directly."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    running = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # the thread ended meanwhile
        # "pid (comm) S ...": the state follows the last ')' (comm may hold spaces).
        state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]
        running += state == b"R"
    return running


def read_snapshot(throttled: bool | None = None) -> Snapshot:
    steal, total, idle = _cpu_ticks()
    load1, runnable = _loadavg()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Snapshot(time.monotonic(), load1, runnable, own_running_threads(), steal, total,
                    idle, usage.ru_nivcsw, usage.ru_utime + usage.ru_stime, throttled)


def ticks_per_second() -> float:
    """The unit of /proc/stat's counters."""
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, OSError, ValueError):
        return 100.0
