"""Energy from a power sensor: a background thread samples watts, trapezoid integration.

The power-read function is injected, so any sensor (hwmon rails, the Pi PMIC, NVML
power) and a fake one in tests share the same sampler. Samples carry their real
perf_counter timestamps; a first sample is taken in start() and a last one in
stop(), so the integral covers exactly the timed span.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from beexbench.targets.base import EnergyMeter, EnergyReading, EnergyUnavailable

PowerReader = Callable[[], float]  # watts now; raises OSError/ValueError when unreadable


def trapezoid(samples: list[tuple[float, float]]) -> float:
    """Integral of (seconds, watts) samples in joules."""
    return sum(
        (t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(samples, samples[1:], strict=False)
    )


class PowerSampler:
    """Calls `read_power` about `hz` times a second on a daemon thread."""

    def __init__(self, read_power: PowerReader, hz: float = 50.0) -> None:
        if hz <= 0:
            raise ValueError(f"sampling rate must be positive, got {hz}")
        self.read_power = read_power
        self.period = 1.0 / hz
        self.samples: list[tuple[float, float]] = []
        self.failed_reads = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _sample(self) -> None:
        try:
            watts = float(self.read_power())
        except (OSError, ValueError) as exc:
            self._count_failure(exc)
            return
        now = time.perf_counter()
        # negative or non-finite power is a garbage read, not a measurement
        if not (math.isfinite(watts) and watts >= 0.0):
            self._count_failure(ValueError(f"bad power reading {watts!r}"))
            return
        with self._lock:
            self.samples.append((now, watts))

    def _count_failure(self, exc: Exception) -> None:
        with self._lock:
            self.failed_reads += 1
            self.last_error = str(exc)

    def _loop(self) -> None:
        next_at = time.perf_counter() + self.period
        while not self._stop.wait(max(0.0, next_at - time.perf_counter())):
            self._sample()
            # a slow sensor (vcgencmd) sets the pace; do not try to catch up
            next_at = max(next_at + self.period, time.perf_counter())

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("sampler already running")
        self.samples = []
        self.failed_reads = 0
        self._stop.clear()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="power-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> list[tuple[float, float]]:
        if self._thread is None:
            raise RuntimeError("sampler stopped before it was started")
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._sample()
        with self._lock:
            return list(self.samples)

    def rate_hz(self) -> float | None:
        """The sampling rate actually achieved over the last span."""
        if len(self.samples) < 2:
            return None
        span = self.samples[-1][0] - self.samples[0][0]
        return (len(self.samples) - 1) / span if span > 0 else None


class SampledEnergyMeter(EnergyMeter):
    """EnergyMeter over a PowerSampler; joules are the trapezoid integral of watts."""

    def __init__(self, read_power: PowerReader, source: str, hz: float = 50.0) -> None:
        self.sampler = PowerSampler(read_power, hz)
        self.source = source

    def start(self) -> None:
        self.sampler.start()

    def stop(self) -> EnergyReading:
        samples = self.sampler.stop()
        if len(samples) < 2:
            raise EnergyUnavailable(
                f"{self.source}: {len(samples)} good power samples "
                f"({self.sampler.failed_reads} failed reads); span too short or sensor silent"
            )
        return EnergyReading(
            joules=trapezoid(samples),
            seconds=samples[-1][0] - samples[0][0],
            source=self.source,
            estimated=False,
        )
