"""NVIDIA GPU state and energy through NVML (pynvml from nvidia-ml-py, imported lazily)."""

from __future__ import annotations

import functools
import time
from typing import Any

from beexbench.targets.base import EnergyMeter, EnergyReading, EnergyUnavailable
from beexbench.targets.probe import Probe, put

# nvmlClocksEventReason* bits (formerly ClocksThrottleReason*), nvml.h
THROTTLE_REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


def decode_throttle_reasons(mask: int) -> list[str]:
    """Names of the set bits; unknown bits are kept as hex so nothing is hidden."""
    names = [name for bit, name in THROTTLE_REASONS.items() if mask & bit]
    unknown = mask & ~sum(THROTTLE_REASONS)
    if unknown:
        names.append(f"unknown_0x{unknown:x}")
    return names


def energy_delta_j(start_mj: int, stop_mj: int) -> float:
    """Joules between two reads of the total-energy counter (mJ since driver load).

    The counter only grows; a smaller second read means the driver reloaded or the
    counter wrapped, and the span's figure cannot be trusted: EnergyUnavailable.
    """
    if stop_mj < start_mj:
        raise EnergyUnavailable(
            f"NVML energy counter went backwards ({start_mj} -> {stop_mj} mJ); span dropped"
        )
    return (stop_mj - start_mj) / 1e3


@functools.cache
def _nvml() -> Any:
    """pynvml, initialised once per process (nvmlInit is reference-counted)."""
    import pynvml

    pynvml.nvmlInit()
    return pynvml


def handle_for(torch_index: int) -> Any:
    """NVML handle of torch's device: by UUID, since CUDA_VISIBLE_DEVICES renumbers."""
    import torch

    nv = _nvml()
    uuid = getattr(torch.cuda.get_device_properties(torch_index), "uuid", None)
    if uuid is not None:
        try:
            return nv.nvmlDeviceGetHandleByUUID(f"GPU-{uuid}")
        except nv.NVMLError:
            pass
    return nv.nvmlDeviceGetHandleByIndex(torch_index)


def _query(fn: Any, *args: Any, scale: float = 1.0) -> Probe:
    nv = _nvml()
    try:
        value = fn(*args)
    except nv.NVMLError as exc:
        return Probe.missing(f"{fn.__name__}: {exc}")
    if isinstance(value, bytes):
        value = value.decode()
    return Probe(value * scale if isinstance(value, (int, float)) and scale != 1 else value)


def gpu_state(handle: Any) -> dict[str, Any]:
    """Name, SM/memory clocks, temperature, power limit, throttle reasons."""
    nv = _nvml()
    state: dict[str, Any] = {}
    put(state, "gpu_name", _query(nv.nvmlDeviceGetName, handle))
    put(state, "sm_clock_mhz", _query(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_SM))
    put(state, "mem_clock_mhz", _query(nv.nvmlDeviceGetClockInfo, handle, nv.NVML_CLOCK_MEM))
    put(state, "sm_clock_max_mhz",
        _query(nv.nvmlDeviceGetMaxClockInfo, handle, nv.NVML_CLOCK_SM))
    put(state, "temperature_c",
        _query(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU))
    put(state, "power_limit_w",
        _query(nv.nvmlDeviceGetEnforcedPowerLimit, handle, scale=1e-3))
    put(state, "power_draw_w", _query(nv.nvmlDeviceGetPowerUsage, handle, scale=1e-3))
    # renamed from ...ThrottleReasons in recent NVML; older bindings have only the old name
    reasons_fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
    reasons_fn = reasons_fn or nv.nvmlDeviceGetCurrentClocksThrottleReasons
    mask = _query(reasons_fn, handle)
    put(state, "throttle_reasons",
        Probe(decode_throttle_reasons(int(mask.value))) if mask.ok else mask)
    put(state, "driver_version", _query(nv.nvmlSystemGetDriverVersion))
    return state


def energy_counter_supported(handle: Any) -> Probe:
    """The total-energy counter (Volta and newer) answers, or why not."""
    nv = _nvml()
    return _query(nv.nvmlDeviceGetTotalEnergyConsumption, handle)


class NvmlEnergyMeter(EnergyMeter):
    """Difference of nvmlDeviceGetTotalEnergyConsumption (mJ) over the span.

    The counter updates every 10-100 ms, so spans should last a second or more.
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._start: tuple[int, float] | None = None

    def _read(self) -> int:
        nv = _nvml()
        try:
            return int(nv.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except nv.NVMLError as exc:  # the sensor stopped answering: no figure for the span
            raise EnergyUnavailable(f"nvmlDeviceGetTotalEnergyConsumption: {exc}") from None

    def start(self) -> None:
        self._start = (self._read(), time.perf_counter())

    def stop(self) -> EnergyReading:
        if self._start is None:
            raise RuntimeError("energy meter stopped before it was started")
        stop_mj, stop_t = self._read(), time.perf_counter()
        start_mj, start_t = self._start
        self._start = None
        return EnergyReading(joules=energy_delta_j(start_mj, stop_mj),
                             seconds=stop_t - start_t, source="nvml", estimated=False)


def power_watts(handle: Any) -> float:
    """Board power now (nvmlDeviceGetPowerUsage, mW), for sampled integration."""
    nv = _nvml()
    try:
        return nv.nvmlDeviceGetPowerUsage(handle) / 1e3
    except nv.NVMLError as exc:
        raise OSError(f"nvmlDeviceGetPowerUsage: {exc}") from None
