"""Host-clock timer shared by the CPU-side targets."""

from __future__ import annotations

import time

from beexbench.targets.base import Timer


class PerfCounterTimer(Timer):
    """time.perf_counter around a span; the work is synchronous, so nothing to wait for."""

    def __init__(self) -> None:
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> float:
        if self._t0 is None:
            raise RuntimeError("timer stopped before it was started")
        elapsed = time.perf_counter() - self._t0
        self._t0 = None
        return elapsed
