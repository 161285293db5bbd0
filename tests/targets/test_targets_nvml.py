"""The cuda target and its NVML helpers against a fake `pynvml` (no GPU, runs in CI).

The fake module answers only the NVML calls beexbench makes, from scripted readings;
torch.cuda is patched just where the adapter touches it.
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from beexbench.measure.energy import measure_energy
from beexbench.targets import nvml
from beexbench.targets.base import EnergyUnavailable
from beexbench.targets.cuda import MIB, CudaEventTimer, CudaTarget
from beexbench.targets.registry import get_target
from beexbench.targets.sampler import SampledEnergyMeter, trapezoid

# nvml.h return codes, as pynvml names them
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_GPU_IS_LOST = 15
ERROR_STRINGS = {
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
}

UUID = "5c0a1a2e-0d2b-4f7e-9d55-6f1f0e3c2b11"


class NVMLError(Exception):
    """pynvml's base error: `value` is the return code, str() its message."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return ERROR_STRINGS.get(self.value, "Unknown Error")


class NVMLError_NotSupported(NVMLError):  # pynvml's own spelling
    def __init__(self) -> None:
        super().__init__(NVML_ERROR_NOT_SUPPORTED)


@dataclass
class FakeGpu:
    """One board. `energy_mj`: the counter's answers in call order (an exception instance
    is raised instead); `power_mw(n)`: the n-th power reading; `reasons`: the event mask."""

    energy_mj: list[Any] = field(default_factory=list)
    power_mw: Callable[[int], Any] = lambda n: 150_000
    reasons: Any = 0
    uuid_known: bool = True
    new_reasons_name: bool = True  # nvidia-ml-py >= 12.535 also has ...ClocksEventReasons
    init_error: int | None = None
    temperature: Any = 61
    calls: list[tuple[str, Any]] = field(default_factory=list)
    power_reads: int = 0

    def module(self) -> types.ModuleType:
        nv = types.ModuleType("pynvml")
        nv.NVMLError = NVMLError
        nv.NVMLError_NotSupported = NVMLError_NotSupported
        nv.NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
        nv.NVML_CLOCK_GRAPHICS, nv.NVML_CLOCK_SM, nv.NVML_CLOCK_MEM = 0, 1, 2
        nv.NVML_TEMPERATURE_GPU = 0

        def answer(value: Any) -> Any:
            if isinstance(value, BaseException):
                raise value
            return value

        def nvmlInit() -> None:
            self.calls.append(("nvmlInit", None))
            if self.init_error is not None:
                raise NVMLError(self.init_error)

        def nvmlDeviceGetHandleByUUID(uuid: str) -> str:
            self.calls.append(("nvmlDeviceGetHandleByUUID", uuid))
            if not self.uuid_known:
                raise NVMLError(NVML_ERROR_NOT_FOUND)
            return f"handle-{uuid}"

        def nvmlDeviceGetHandleByIndex(index: int) -> str:
            self.calls.append(("nvmlDeviceGetHandleByIndex", index))
            return f"handle-{index}"

        def nvmlDeviceGetTotalEnergyConsumption(handle: str) -> int:
            self.calls.append(("nvmlDeviceGetTotalEnergyConsumption", handle))
            assert self.energy_mj, "an energy read the test did not script"
            return answer(self.energy_mj.pop(0))

        def nvmlDeviceGetPowerUsage(handle: str) -> int:
            n, self.power_reads = self.power_reads, self.power_reads + 1
            return answer(self.power_mw(n))

        def nvmlDeviceGetName(handle: str) -> bytes:
            return b"Fake Tesla P100"  # older bindings return bytes

        def nvmlDeviceGetClockInfo(handle: str, clock: int) -> int:
            return {nv.NVML_CLOCK_SM: 1328, nv.NVML_CLOCK_MEM: 715}[clock]

        def nvmlDeviceGetMaxClockInfo(handle: str, clock: int) -> int:
            return 1480

        def nvmlDeviceGetTemperature(handle: str, sensor: int) -> int:
            return answer(self.temperature)

        def nvmlDeviceGetEnforcedPowerLimit(handle: str) -> int:
            return 250_000  # mW

        def nvmlDeviceGetCurrentClocksThrottleReasons(handle: str) -> int:
            return answer(self.reasons)

        def nvmlDeviceGetCurrentClocksEventReasons(handle: str) -> int:
            return answer(self.reasons)

        def nvmlSystemGetDriverVersion() -> str:
            return "550.54.15"

        for fn in (nvmlInit, nvmlDeviceGetHandleByUUID, nvmlDeviceGetHandleByIndex,
                   nvmlDeviceGetTotalEnergyConsumption, nvmlDeviceGetPowerUsage,
                   nvmlDeviceGetName, nvmlDeviceGetClockInfo, nvmlDeviceGetMaxClockInfo,
                   nvmlDeviceGetTemperature, nvmlDeviceGetEnforcedPowerLimit,
                   nvmlDeviceGetCurrentClocksThrottleReasons, nvmlSystemGetDriverVersion):
            setattr(nv, fn.__name__, fn)
        if self.new_reasons_name:
            nv.nvmlDeviceGetCurrentClocksEventReasons = nvmlDeviceGetCurrentClocksEventReasons
        return nv

    def energy_reads(self) -> int:
        return sum(name == "nvmlDeviceGetTotalEnergyConsumption" for name, _ in self.calls)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch):
    """`fake_gpu(gpu)`: `import pynvml` gives gpu's fake module, and torch.cuda reports
    one device (UUID above) for the rest of the test; returns the CudaTarget."""
    synced: list[torch.device] = []

    def install(gpu: FakeGpu, **target_options: Any) -> CudaTarget:
        monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
        monkeypatch.setattr(torch.version, "cuda", "12.4")
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "get_device_properties",
                            lambda index: types.SimpleNamespace(uuid=UUID))
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Fake Tesla P100")
        monkeypatch.setattr(torch.cuda, "synchronize", synced.append)
        target = get_target("cuda", **target_options)
        assert isinstance(target, CudaTarget)
        return target

    install.synced = synced  # type: ignore[attr-defined]
    nvml._nvml.cache_clear()  # the real pynvml is never initialised here
    yield install
    nvml._nvml.cache_clear()


# --- which source: the energy counter, or sampled power


def test_counter_supported_energy_from_total_energy_in_mj(fake_gpu):
    gpu = FakeGpu(energy_mj=[1_000_000,  # describe()'s probe
                             1_000_000,  # energy_meter()'s probe
                             1_000_000, 1_002_500])  # start, stop: 2500 mJ
    target = fake_gpu(gpu)
    described = target.describe()
    assert (described["energy_source"], described["energy_estimated"]) == ("nvml", False)
    assert described["device"] == "Fake Tesla P100"
    assert "unavailable" not in described["coverage"]

    meter = target.energy_meter()
    assert isinstance(meter, nvml.NvmlEnergyMeter)
    meter.start()
    reading = meter.stop()
    assert reading.joules == pytest.approx(2.5)
    assert (reading.source, reading.estimated) == ("nvml", False)
    assert reading.seconds >= 0
    assert gpu.energy_reads() == 4 and gpu.power_reads == 0
    # the handle is torch's device found by UUID, NVML initialised once
    assert ("nvmlDeviceGetHandleByUUID", f"GPU-{UUID}") in gpu.calls
    assert ("nvmlDeviceGetTotalEnergyConsumption", f"handle-GPU-{UUID}") in gpu.calls
    assert [name for name, _ in gpu.calls].count("nvmlInit") == 1


def test_no_energy_counter_falls_back_to_power_sampled_at_20_hz(fake_gpu):
    # the n-th power read is 100 W + 20 W * n, in mW as NVML answers
    gpu = FakeGpu(energy_mj=[NVMLError_NotSupported(), NVMLError_NotSupported()],
                  power_mw=lambda n: 100_000 + 20_000 * n)
    target = fake_gpu(gpu)
    described = target.describe()
    assert (described["energy_source"], described["energy_estimated"]) == ("nvml-power", False)
    assert "energy counter unavailable" in described["coverage"]
    assert "Not Supported" in described["coverage"] and "20 Hz" in described["coverage"]

    meter = target.energy_meter()
    assert isinstance(meter, SampledEnergyMeter)
    assert meter.source == "nvml-power"
    assert meter.sampler.period == pytest.approx(1 / 20)
    meter.start()
    deadline = time.monotonic() + 5
    while gpu.power_reads < 3 and time.monotonic() < deadline:  # start's read + 2 on the thread
        time.sleep(0.01)
    reading = meter.stop()
    samples = meter.sampler.samples
    assert len(samples) >= 4  # start, at least two on the thread, stop
    assert [watts for _, watts in samples] == [100.0 + 20.0 * i for i in range(len(samples))]
    assert reading.joules == pytest.approx(trapezoid(samples))
    assert reading.joules > 0
    assert reading.seconds == pytest.approx(samples[-1][0] - samples[0][0])
    assert (reading.source, reading.estimated) == ("nvml-power", False)
    assert gpu.energy_reads() == 2  # the probes only: the meter never reads the counter


def test_power_sampling_with_a_silent_sensor_drops_the_span(fake_gpu):
    gpu = FakeGpu(energy_mj=[NVMLError_NotSupported()],
                  power_mw=lambda n: NVMLError(NVML_ERROR_GPU_IS_LOST))
    meter = fake_gpu(gpu).energy_meter()
    assert isinstance(meter, SampledEnergyMeter)
    meter.start()
    with pytest.raises(EnergyUnavailable, match="nvml-power: 0 good power samples"):
        meter.stop()
    assert meter.sampler.failed_reads == gpu.power_reads >= 2
    assert meter.sampler.last_error == "nvmlDeviceGetPowerUsage: GPU is lost"


# --- the counter going backwards, or failing, during a loop


@pytest.mark.parametrize(("start_mj", "stop_mj"), [
    (5_000_000, 1_200),      # driver reloaded: the counter restarted near zero
    (2**64 - 500, 700),      # the 64-bit counter wrapped
])
def test_counter_going_backwards_drops_the_span_and_the_meter_recovers(
        fake_gpu, start_mj, stop_mj):
    gpu = FakeGpu(energy_mj=[start_mj,  # energy_meter()'s probe
                             start_mj, stop_mj,  # the loop: backwards
                             stop_mj, stop_mj,  # no update within a short span: 0 J
                             stop_mj, stop_mj + 1_000])  # then counting again
    meter = fake_gpu(gpu).energy_meter()
    assert isinstance(meter, nvml.NvmlEnergyMeter)
    queries: list[int] = []
    with pytest.raises(EnergyUnavailable,
                       match=rf"went backwards \({start_mj} -> {stop_mj} mJ\); span dropped"):
        measure_energy(meter, queries.append, n_inputs=4, min_seconds=0.0)
    assert queries == [0]
    # no negative or modular figure is made up; the next spans start afresh
    meter.start()
    assert meter.stop().joules == 0.0
    meter.start()
    reading = meter.stop()
    assert reading.joules == pytest.approx(1.0)
    assert (reading.source, reading.estimated) == ("nvml", False)
    assert gpu.energy_mj == []


def test_counter_read_failing_mid_loop_drops_the_span(fake_gpu):
    """The sensor stopping answering is EnergyUnavailable (the runner then writes no
    energy rows), not an NVMLError that ends the whole run."""
    gpu = FakeGpu(energy_mj=[10_000, 10_000, NVMLError(NVML_ERROR_GPU_IS_LOST),
                             NVMLError(NVML_ERROR_GPU_IS_LOST)])
    meter = fake_gpu(gpu).energy_meter()
    assert isinstance(meter, nvml.NvmlEnergyMeter)
    meter.start()
    with pytest.raises(EnergyUnavailable, match="GPU is lost"):
        meter.stop()
    with pytest.raises(EnergyUnavailable, match="GPU is lost"):
        meter.start()


# --- machine state: throttle reasons and the rest


@pytest.mark.parametrize("new_reasons_name", [True, False], ids=["event-reasons", "throttle"])
@pytest.mark.parametrize(("mask", "names"), [
    (0, []),
    (0x1, ["gpu_idle"]),
    (0x4 | 0x40, ["sw_power_cap", "hw_thermal_slowdown"]),
    (0x8 | 0x80 | 0x20, ["hw_slowdown", "sw_thermal_slowdown", "hw_power_brake_slowdown"]),
    (0x2 | 0x10 | 0x100, ["applications_clocks_setting", "sync_boost",
                          "display_clock_setting"]),
    (0x4 | 0x1000 | 0x200, ["sw_power_cap", "unknown_0x1200"]),
])
def test_throttle_reasons_decoded_from_the_mask(fake_gpu, new_reasons_name, mask, names):
    gpu = FakeGpu(reasons=mask, new_reasons_name=new_reasons_name)
    state = fake_gpu(gpu).machine_state()
    assert state["throttle_reasons"] == names
    assert "throttle_reasons_reason" not in state


def test_gpu_state_units_and_unreadable_items(fake_gpu):
    gpu = FakeGpu(reasons=NVMLError_NotSupported(), temperature=NVMLError_NotSupported(),
                  power_mw=lambda n: 87_500)
    state = fake_gpu(gpu).machine_state()
    assert state["gpu_name"] == "Fake Tesla P100"  # bytes decoded
    assert (state["sm_clock_mhz"], state["mem_clock_mhz"], state["sm_clock_max_mhz"]) == (
        1328, 715, 1480)
    assert state["power_limit_w"] == pytest.approx(250.0)  # mW -> W
    assert state["power_draw_w"] == pytest.approx(87.5)
    assert state["driver_version"] == "550.54.15"
    assert state["torch_cuda"] == "12.4"
    assert state["temperature_c"] is None
    assert state["temperature_c_reason"] == "nvmlDeviceGetTemperature: Not Supported"
    assert state["throttle_reasons"] is None
    assert state["throttle_reasons_reason"] == (
        "nvmlDeviceGetCurrentClocksEventReasons: Not Supported")


def test_nvml_failing_to_start_loses_the_state_not_the_listing(fake_gpu):
    gpu = FakeGpu(init_error=NVML_ERROR_DRIVER_NOT_LOADED)
    target = fake_gpu(gpu)
    state = target.machine_state()
    assert state["gpu_name"] is None
    assert state["gpu_name_reason"] == "NVML unavailable: Driver Not Loaded"
    described = target.describe()
    assert described["device"] == "Fake Tesla P100"
    assert "NVML unavailable: Driver Not Loaded" in described["coverage"]


# --- the handle, the timer, synchronize and memory


def test_handle_by_index_when_the_uuid_is_unknown(fake_gpu):
    gpu = FakeGpu(uuid_known=False, energy_mj=[0])
    target = fake_gpu(gpu, index=1)
    assert target.device() == torch.device("cuda", 1)
    assert target.nvml_handle() == "handle-1"
    assert target.nvml_handle() == "handle-1"  # looked up once
    assert gpu.calls[1:] == [("nvmlDeviceGetHandleByUUID", f"GPU-{UUID}"),
                             ("nvmlDeviceGetHandleByIndex", 1)]
    assert isinstance(target.energy_meter(), nvml.NvmlEnergyMeter)
    assert gpu.calls[-1] == ("nvmlDeviceGetTotalEnergyConsumption", "handle-1")


def test_event_timer_synchronize_and_peak_memory(fake_gpu, monkeypatch: pytest.MonkeyPatch):
    target = fake_gpu(FakeGpu())
    clock_ms = iter([100.0, 112.5])

    class FakeEvent:
        def __init__(self, enable_timing: bool = False) -> None:
            assert enable_timing
            self.at: float | None = None

        def record(self) -> None:
            self.at = next(clock_ms)

        def elapsed_time(self, end: FakeEvent) -> float:
            assert self.at is not None and end.at is not None
            return end.at - self.at

    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    timer = target.timer()
    assert isinstance(timer, CudaEventTimer)
    with pytest.raises(RuntimeError, match="before it was started"):
        timer.stop()
    timer.start()
    assert timer.stop() == pytest.approx(0.0125)
    target.synchronize()
    assert fake_gpu.synced == [torch.device("cuda", 0)] * 2  # the timer's stop, then ours

    reset: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset.append)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: 3 * MIB + MIB // 2)
    target.reset_peak_memory()
    assert reset == [torch.device("cuda", 0)]
    assert target.peak_device_memory_mb() == pytest.approx(3.5)
