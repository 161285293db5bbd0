"""The Target interface that the harness measures through (DESIGN.md section 7)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from beexbench.targets.contention import Snapshot, read_snapshot

# torch is imported where tensors are touched, so `list targets` loads none.
if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str  # why not, or what was found


@dataclass(frozen=True)
class EnergyReading:
    joules: float
    seconds: float
    source: str  # rapl, nvml, ina3221, rpi-pmic, codecarbon-cpu_load, codecarbon-tdp, ...
    estimated: bool  # true for any model-based figure

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class EnergyUnavailable(RuntimeError):
    """A meter could not give a trustworthy figure for this span (e.g. a counter went
    backwards, or the sensor stopped answering); the span has no energy rows."""


class EnergyMeter(ABC):
    """Measures energy over a span: start(), run the work, stop() -> EnergyReading."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> EnergyReading: ...


class Timer(ABC):
    """Times one span on the target's clock; stop() waits for the device and returns seconds."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> float: ...


class Target(ABC):
    name: str = ""

    @abstractmethod
    def available(self) -> Availability: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Device name, timing source, energy source: what `beexbench targets` prints."""

    @abstractmethod
    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """Move the model to the device, set eval mode; returns the model to measure."""

    @abstractmethod
    def device(self) -> torch.device: ...

    @abstractmethod
    def synchronize(self) -> None: ...

    @abstractmethod
    def timer(self) -> Timer: ...

    @abstractmethod
    def energy_meter(self) -> EnergyMeter: ...

    @abstractmethod
    def machine_state(self) -> dict[str, Any]:
        """Clocks, governor, throttling...: unreadable items are None with a reason."""

    @abstractmethod
    def set_threads(self, threads: int | None) -> int:
        """Set the intra-op thread count (None: all cores); returns the count in force."""

    def contention(self) -> Snapshot:
        """Signs of other work on the machine, read before and after each timed loop."""
        return read_snapshot()

    # an optional hook: targets without device memory keep this no-op
    def reset_peak_memory(self) -> None:  # noqa: B027
        """Start a fresh peak-memory window (device memory where the target has it)."""

    def peak_device_memory_mb(self) -> float | None:
        """Peak device memory allocated since reset in MiB; None without device memory."""
        return None
