"""Whether a timing loop's figures can be trusted: its evidence and a verdict.

Valid only when the loop met both of its minimums (queries and seconds) and the
machine was not contended while it ran, judged from readings taken before and after
the loop (beexbench.targets.contention), outside the timed span:

- other work's CPU: the CPU time the rest of the machine used during the loop (busy
  jiffies of /proc/stat less this process's own CPU time), as a share of all cores, at
  most the share the run leaves free ((cores - threads) / cores) plus
  OTHER_CPU_MARGIN: beyond that, other work took cores the run's threads needed;
- runnable work: the threads of other work runnable just before and just after the
  loop (/proc/loadavg's fourth field less this process's running threads, since its
  thread pools spin runnable) below the cores the run may use: a whole machine's
  worth of other runnable work means queries waited for a core. The 1-minute load
  average is recorded beside it but judges nothing: it lags a minute behind, so a
  training that just ended would still count;
- steal: at most MAX_STEAL_PCT of the CPU time during the loop taken by the
  hypervisor;
- preemption: at most MAX_SWITCHES_PER_S involuntary context switches of this process
  per second of loop and thread of the run (a quiet 2-core machine shows under 10 a
  second for one thread, one CPU-bound process per core beside it about 100; a run's
  own pool threads preempt each other too). Counted per second, not per query:
  the scheduler preempts per time slice, so a per-query rate depends on query length;
  the per-query figure is reported beside it;
- throttling (boards that report it): no throttling flag raised before or after.

A reading the machine does not expose is not held against the loop, and the verdict
names what it could not check.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from beexbench.targets.contention import Snapshot, ticks_per_second

MAX_STEAL_PCT = 5.0
OTHER_CPU_MARGIN = 0.10
MAX_SWITCHES_PER_S = 50.0


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reasons: tuple[str, ...]  # why not valid; empty when valid
    unchecked: tuple[str, ...]  # what could not be read here
    figures: dict[str, float | None] = field(default_factory=dict)
    # Other work took the machine during the loop (runnable threads, CPU, steal,
    # preemption): a passing cause that another loop may not meet, unlike throttling.
    contended: bool = False

    def note(self) -> str:
        """One line for the row's note: the reasons, or what went unchecked."""
        parts = list(self.reasons)
        if self.unchecked:
            parts.append("not checked: " + ", ".join(self.unchecked))
        return "; ".join(parts)


def coefficient_of_variation(samples: list[float]) -> float:
    mean = statistics.fmean(samples)
    return statistics.pstdev(samples) / mean if mean > 0 else 0.0


def _others(s: Snapshot) -> int | None:
    """Runnable threads of other work at one reading (at least this reading thread is ours)."""
    if s.runnable is None:
        return None
    own = s.own_running if s.own_running is not None else 1
    return max(s.runnable - max(own, 1), 0)


def _other_cpu_share(before: Snapshot, after: Snapshot) -> float | None:
    """The share of all cores' time that other work used between the two readings."""
    fields = (before.total_ticks, after.total_ticks, before.idle_ticks, after.idle_ticks)
    if any(f is None for f in fields):
        return None
    total = after.total_ticks - before.total_ticks  # type: ignore[operator]
    if total <= 0:
        return None
    busy = total - (after.idle_ticks - before.idle_ticks)  # type: ignore[operator]
    own = (after.own_cpu_s - before.own_cpu_s) * ticks_per_second()
    return min(max((busy - own) / total, 0.0), 1.0)


def judge(before: Snapshot, after: Snapshot, queries: int, seconds: float,
          min_queries: int, min_seconds: float, cores: int, threads: int = 1) -> Verdict:
    """The verdict on one loop of `queries` queries over `seconds` seconds, of a run of
    `threads` threads that may use `cores` cores."""
    reasons: list[str] = []
    unchecked: list[str] = []
    if queries < min_queries:
        reasons.append(f"{queries} queries, fewer than the minimum {min_queries}")
    if seconds < min_seconds:
        reasons.append(f"{seconds:.2f} s, shorter than the minimum {min_seconds:g} s")
    minimums = len(reasons)
    loads = [s.load1 for s in (before, after) if s.load1 is not None]
    load = max(loads) if loads else None
    counts = [n for n in map(_others, (before, after)) if n is not None]
    others = max(counts) if counts else None
    if others is None:
        unchecked.append("runnable threads")
    elif others >= cores:
        reasons.append(f"{others} runnable threads of other work beside the run, on "
                       f"{cores} cores")
    share = _other_cpu_share(before, after)
    free = max(cores - threads, 0) / cores
    if share is None:
        unchecked.append("other work's CPU")
    elif share > free + OTHER_CPU_MARGIN:
        reasons.append(f"other work used {100 * share:.0f} % of the CPU during the loop, "
                       f"above the {100 * free:.0f} % the run's {threads} thread(s) leave "
                       f"free on {cores} cores (+{100 * OTHER_CPU_MARGIN:.0f} %)")
    steal = None
    if None in (before.steal_ticks, after.steal_ticks, before.total_ticks, after.total_ticks):
        unchecked.append("CPU steal")
    else:
        total = after.total_ticks - before.total_ticks  # type: ignore[operator]
        steal = 100.0 * (after.steal_ticks - before.steal_ticks) / total if total > 0 else 0.0  # type: ignore[operator]
        if steal > MAX_STEAL_PCT:
            reasons.append(f"CPU steal {steal:.1f} % above {MAX_STEAL_PCT:g} %")
    switches = after.involuntary_switches - before.involuntary_switches
    span = max(after.when - before.when, 1e-9)
    per_s = switches / span
    if per_s > MAX_SWITCHES_PER_S * threads:
        reasons.append(f"{per_s:.0f} involuntary context switches a second, above "
                       f"{MAX_SWITCHES_PER_S * threads:g} ({MAX_SWITCHES_PER_S:g} a thread)")
    contended = len(reasons) > minimums
    flags = [s.throttled for s in (before, after)]
    if any(flags):
        reasons.append("the board reported throttling")
    figures = {"load": load, "runnable": others, "other_cpu": share, "steal": steal,
               "switches_per_s": per_s,
               "switches_per_query": switches / queries if queries else None}
    return Verdict(not reasons, tuple(reasons), tuple(unchecked), figures, contended)
