"""Energy per sample: a timed loop under the target's meter, minus an idle baseline.

The idle baseline is measured with the same meter over a span of the same length
with nothing running, and both figures are reported, so a reader can see how much
of the gross figure is the machine's floor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from targets.base import EnergyMeter, EnergyReading


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
    def net_j_per_sample(self) -> float:
        """Gross minus idle power over the loop's own duration, per sample."""
        return (self.gross.joules - self.idle_power_w * self.gross.seconds) / self.samples

    @property
    def estimated(self) -> bool:
        return self.gross.estimated or self.idle.estimated


def measure_energy(meter: EnergyMeter, query: Callable[[int], object], n_inputs: int,
                   min_seconds: float, samples_per_query: int = 1) -> EnergyResult:
    """Run queries for at least min_seconds under the meter, then idle for as long."""
    count = 0
    with torch.inference_mode():
        meter.start()
        started = time.perf_counter()
        while count == 0 or time.perf_counter() - started < min_seconds:
            query(count % n_inputs)
            count += 1
        gross = meter.stop()
    meter.start()
    time.sleep(gross.seconds)
    idle = meter.stop()
    return EnergyResult(gross, idle, count * samples_per_query)
