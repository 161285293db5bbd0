"""The `cpu` target: any CPU, torch intra-op threads, perf_counter, codecarbon energy."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

# torch is imported where tensors are touched, so `list targets` loads none.
if TYPE_CHECKING:
    import torch

from beexbench.core.errors import UsageError
from beexbench.targets.base import Availability, EnergyMeter, Target, Timer
from beexbench.targets.catalog import TARGETS
from beexbench.targets.codecarbon_meter import CodecarbonMeter
from beexbench.targets.cpufreq import frequency_state
from beexbench.targets.cpuinfo import flags_of_interest, read_cpuinfo
from beexbench.targets.probe import Probe, put
from beexbench.targets.threads import set_host_threads
from beexbench.targets.timing import PerfCounterTimer


def _cpu_model(probe: Probe) -> Probe:
    if not probe.ok:
        return probe
    name = probe.value.model_name
    if name:
        return Probe(name)
    if probe.value.cores:
        return Probe(" + ".join(probe.value.cores))
    return Probe.missing("/proc/cpuinfo has no model name or CPU part line")


@TARGETS.register("cpu")
class CpuTarget(Target):
    """Always available; affinity (a set of CPU ids) is applied when given."""

    description = "any CPU: perf_counter timing, RAPL energy where readable, else estimated"

    name = "cpu"
    timing_source = "time.perf_counter"

    def __init__(self, affinity: Iterable[int] | None = None) -> None:
        self._meter: EnergyMeter | None = None
        self.affinity: list[int] | None = None
        if affinity is not None:
            cpus = sorted(set(affinity))
            try:
                os.sched_setaffinity(0, cpus)
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot pin to CPUs {cpus}: {exc}") from None
            self.affinity = cpus

    def available(self) -> Availability:
        import torch
        machine = platform.machine() or "unknown"
        return Availability(True, f"{machine} CPU, torch {torch.__version__}")

    def device(self) -> torch.device:
        import torch
        return torch.device("cpu")

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(self.device()).eval()

    def synchronize(self) -> None:
        """CPU work is synchronous: nothing is in flight when a call returns."""

    def timer(self) -> Timer:
        return PerfCounterTimer()

    def set_threads(self, threads: int | None) -> int:
        return set_host_threads(threads)

    def energy_meter(self) -> EnergyMeter:
        # one meter per target, so codecarbon's start-up cost is paid once
        if self._meter is None:
            self._meter = CodecarbonMeter()
        return self._meter

    def energy_info(self) -> dict[str, Any]:
        """source, estimated, scope of what energy_meter() measures here."""
        meter = self.energy_meter()
        assert isinstance(meter, CodecarbonMeter)
        return meter.describe()

    def describe(self) -> dict[str, Any]:
        energy = self.energy_info()
        note = energy.get("model") or "measured by RAPL counters, read through codecarbon"
        return {
            "name": self.name,
            "device": _cpu_model(read_cpuinfo()).value or platform.machine() or None,
            "timing_source": self.timing_source,
            "energy_source": energy["source"],
            "energy_estimated": energy["estimated"],
            "coverage": f"{energy['scope']}; {note}",
        }

    def machine_state(self) -> dict[str, Any]:
        import torch
        state: dict[str, Any] = {}
        info = read_cpuinfo()
        put(state, "cpu_model", _cpu_model(info))
        put(state, "cpu_flags", Probe(flags_of_interest(info.value)) if info.ok else info)
        state["logical_cpus"] = os.cpu_count()
        state["threads"] = torch.get_num_threads()
        state["affinity"] = sorted(os.sched_getaffinity(0))
        state.update(frequency_state())
        return state
