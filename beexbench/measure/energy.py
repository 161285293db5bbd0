"""Energy per sample: a timed loop under the target's meter, minus an idle baseline.

The idle baseline is measured with the same meter over a span as long as the loop
with nothing running (a run reads it once and scales it to each loop's duration),
and both figures are reported, so a reader can see how much
of the gross figure is the machine's floor. Where the idle baseline exceeds the
loop's figure the net figure is no measurement: it is left empty, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from beexbench.targets.base import EnergyMeter, EnergyReading


@dataclass(frozen=True)
class EnergyResult:
    gross: EnergyReading
    idle: EnergyReading
    samples: int

    @property
    def gross_j_per_sample(self) -> float:
        return self.gross.joules / self.samples

    @property
    def idle_power_w(self) -> float:
        return self.idle.joules / self.idle.seconds if self.idle.seconds > 0 else 0.0

    @property
    def idle_joules(self) -> float:
        """The idle baseline scaled to the loop's own duration."""
        return self.idle_power_w * self.gross.seconds

    @property
    def net_j_per_sample(self) -> float | None:
        """Gross minus idle power over the loop's own duration, per sample; None when that
        is below zero: then the loop's draw did not resolve above the floor and the
        difference is the meter's noise, not a measurement (`net_reason` says so)."""
        net = self.gross.joules - self.idle_joules
        return None if net < 0 else net / self.samples

    @property
    def net_reason(self) -> str:
        """Why there is no net figure ("" when there is one)."""
        if self.net_j_per_sample is not None:
            return ""
        return (f"idle baseline {self.idle_joules:.4g} J exceeds the loop's "
                f"{self.gross.joules:.4g} J over {self.gross.seconds:.3g} s: the loop's "
                "draw is within the meter's resolution")

    @property
    def estimated(self) -> bool:
        return self.gross.estimated or self.idle.estimated


def measure_idle(meter: EnergyMeter, seconds: float) -> EnergyReading:
    """The meter over `seconds` with nothing running: the idle baseline."""
    meter.start()
    time.sleep(seconds)
    return meter.stop()


def measure_energy(meter: EnergyMeter, query: Callable[[int], object], n_inputs: int,
                   min_seconds: float, samples_per_query: int = 1,
                   on_progress: Callable[[float], None] | None = None,
                   idle: EnergyReading | None = None) -> EnergyResult:
    """Run queries for at least min_seconds under the meter, then idle for as long,
    unless `idle` is a baseline read earlier (a run reads one and reuses it).

    `on_progress(seconds)` hears of the time passed, a tenth of a second at a time."""
    count = 0
    reported = 0.0
    with torch.inference_mode():
        meter.start()
        started = time.perf_counter()
        elapsed = 0.0
        while count == 0 or elapsed < min_seconds:
            query(count % n_inputs)
            count += 1
            elapsed = time.perf_counter() - started
            if on_progress and elapsed - reported >= 0.1:
                on_progress(round(elapsed - reported, 1))
                reported = elapsed
        gross = meter.stop()
    fresh = idle is None
    if idle is None:
        idle = measure_idle(meter, gross.seconds)
    if on_progress:
        on_progress(round(max(0.0, min_seconds - reported) + (idle.seconds if fresh else 0), 1))
    return EnergyResult(gross, idle, count * samples_per_query)
