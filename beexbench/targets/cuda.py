"""The `cuda` target: CUDA events for timing, NVML for energy and clocks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# torch is imported where tensors are touched, so `list targets` loads none.
if TYPE_CHECKING:
    import torch

from beexbench.targets import nvml
from beexbench.targets.base import Availability, EnergyMeter, Target, Timer
from beexbench.targets.catalog import TARGETS
from beexbench.targets.probe import Probe, put
from beexbench.targets.sampler import SampledEnergyMeter
from beexbench.targets.threads import set_host_threads

MIB = 1024 * 1024


class CudaEventTimer(Timer):
    """Events recorded on the current stream; stop() synchronizes, then reads the gap."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._start: torch.cuda.Event | None = None

    def start(self) -> None:
        import torch
        self._start = torch.cuda.Event(enable_timing=True)
        self._start.record()

    def stop(self) -> float:
        import torch
        if self._start is None:
            raise RuntimeError("timer stopped before it was started")
        end = torch.cuda.Event(enable_timing=True)
        end.record()
        torch.cuda.synchronize(self.device)
        elapsed_ms = self._start.elapsed_time(end)
        self._start = None
        return elapsed_ms / 1e3


def cuda_availability() -> Availability:
    import torch
    if torch.version.cuda is None:
        return Availability(False, f"torch {torch.__version__} was built without CUDA")
    if not torch.cuda.is_available():
        return Availability(False, f"no CUDA device found (torch built for CUDA "
                                   f"{torch.version.cuda})")
    return Availability(True, f"{torch.cuda.device_count()} CUDA device(s), "
                              f"CUDA {torch.version.cuda}")


@TARGETS.register("cuda")
class CudaTarget(Target):
    """One CUDA device (`index`, default the current one)."""

    description = "an NVIDIA GPU: CUDA event timing, NVML energy, max allocated memory"

    name = "cuda"
    timing_source = "cuda-events"

    def __init__(self, index: int | None = None) -> None:
        self.index = index
        self._handle: Any = None

    def available(self) -> Availability:
        return cuda_availability()

    def device(self) -> torch.device:
        import torch
        index = torch.cuda.current_device() if self.index is None else self.index
        return torch.device("cuda", index)

    def nvml_handle(self) -> Any:
        if self._handle is None:
            self._handle = nvml.handle_for(self.device().index)
        return self._handle

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(self.device()).eval()

    def synchronize(self) -> None:
        import torch
        torch.cuda.synchronize(self.device())

    def timer(self) -> Timer:
        return CudaEventTimer(self.device())

    def set_threads(self, threads: int | None) -> int:
        """Host-side intra-op threads (data preparation, CPU fallbacks)."""
        return set_host_threads(threads)

    def energy_meter(self) -> EnergyMeter:
        handle = self.nvml_handle()
        if nvml.energy_counter_supported(handle).ok:
            return nvml.NvmlEnergyMeter(handle)
        # pre-Volta boards have no energy counter: integrate sampled board power instead
        return SampledEnergyMeter(lambda: nvml.power_watts(handle), source="nvml-power",
                                  hz=20.0)

    def reset_peak_memory(self) -> None:
        import torch
        torch.cuda.reset_peak_memory_stats(self.device())

    def peak_device_memory_mb(self) -> float | None:
        """Peak torch allocation since reset, in MiB (2**20 bytes)."""
        import torch
        return torch.cuda.max_memory_allocated(self.device()) / MIB

    def describe(self) -> dict[str, Any]:
        import torch
        row: dict[str, Any] = {"name": self.name, "timing_source": self.timing_source,
                               "energy_source": "nvml", "energy_estimated": False,
                               "coverage": "whole GPU board (NVML), not the host"}
        if not self.available().ok:
            return {**row, "device": None}
        row["device"] = torch.cuda.get_device_name(self.device())
        try:
            counter = nvml.energy_counter_supported(self.nvml_handle())
        except Exception as exc:  # NVML missing or failing: say so, do not crash a listing
            counter = Probe.missing(f"NVML unavailable: {exc}")
        if not counter.ok:
            row["energy_source"] = "nvml-power"
            row["coverage"] += f"; energy counter unavailable ({counter.reason}), " \
                               "power sampled at 20 Hz instead"
        return row

    def machine_state(self) -> dict[str, Any]:
        import torch
        state: dict[str, Any] = {"threads": torch.get_num_threads(),
                                 "torch_cuda": torch.version.cuda}
        try:
            state.update(nvml.gpu_state(self.nvml_handle()))
        except Exception as exc:  # an NVML failure loses the state, not the benchmark
            put(state, "gpu_name", Probe.missing(f"NVML unavailable: {exc}"))
        return state
