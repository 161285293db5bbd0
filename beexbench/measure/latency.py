"""Latency (SingleStream, batch 1) and throughput (Offline, batch N) loops.

Like MLPerf LoadGen, each loop runs until both a minimum number of queries and a
minimum duration are met, after a warm-up. Each query is timed with the target's
timer (which waits for the device), so samples are per-query wall times. The process
CPU time (every thread of the process, `time.process_time`) is read once before and
once after the loop and reported per query: on a shared machine wall time also counts
the waits for a core, and with several threads CPU time shows what a query costs in
all. It is not read around each query: that system call between queries made the
timed queries themselves 13-18 % slower on the packed and ONNX Runtime paths.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from beexbench.core.ranges import check_float, check_int

if TYPE_CHECKING:  # LoopSettings is read by the CLI's --help, which must not load torch
    from beexbench.targets.base import Timer
    from beexbench.targets.contention import Snapshot

# Bounds of the loop settings: beyond them a loop would run for days or never end.
MAX_WARMUP = 100_000
MAX_QUERIES = 10_000_000
MAX_SECONDS = 3600.0
MAX_BATCH = 65_536


@dataclass(frozen=True)
class LoopSettings:
    warmup: int
    min_queries: int
    min_seconds: float
    batch_size: int = 32  # Offline batch

    def __post_init__(self) -> None:
        check_int("--warmup", self.warmup, 0, MAX_WARMUP)
        check_int("--min-queries", self.min_queries, 1, MAX_QUERIES)
        object.__setattr__(self, "min_seconds",
                           check_float("--min-seconds", self.min_seconds, 0.0, MAX_SECONDS))
        check_int("--batch-size", self.batch_size, 1, MAX_BATCH)


@dataclass
class LatencyResult:
    samples_ms: list[float]
    wall_seconds: float
    cpu_seconds: float = 0.0  # process CPU time over the whole loop, every thread
    # Signs of other work on the machine, read just before and just after the loop.
    before: Snapshot | None = None
    after: Snapshot | None = None

    def stats(self) -> dict[str, float]:
        xs = sorted(self.samples_ms)
        return {
            "p50": percentile(xs, 50), "p90": percentile(xs, 90), "p99": percentile(xs, 99),
            "mean": statistics.fmean(xs), "std": statistics.pstdev(xs),
        }

    def cpu_stats(self) -> dict[str, float]:
        """Process CPU time per query, the mean over the loop."""
        return {"mean": 1e3 * self.cpu_seconds / max(len(self.samples_ms), 1)}


def percentile(sorted_xs: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_xs:
        raise ValueError("no samples")
    pos = (len(sorted_xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def run_until(query: Callable[[int], object], timer: Timer, settings: LoopSettings,
              n_inputs: int, on_progress: Callable[[int], None] | None = None,
              contention: Callable[[], Snapshot] | None = None) -> LatencyResult:
    """Warm up, then call query(i) on inputs i = 0, 1, ... (cycling) until both minimums.

    `contention` (the target's reader) is called right before and right after the loop."""
    import torch

    with torch.inference_mode():
        for i in range(settings.warmup):
            query(i % n_inputs)
        before = contention() if contention else None
        samples: list[float] = []
        cpu_start = time.process_time()
        started = time.perf_counter()
        i = 0
        while len(samples) < settings.min_queries or (
            time.perf_counter() - started < settings.min_seconds
        ):
            timer.start()
            query(i % n_inputs)
            samples.append(timer.stop() * 1e3)
            i += 1
            if on_progress and i % 100 == 0:
                on_progress(i)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_start
        after = contention() if contention else None
    return LatencyResult(samples, wall, cpu, before, after)
