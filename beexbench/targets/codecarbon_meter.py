"""codecarbon as an EnergyMeter: RAPL where codecarbon can read it, else its model.

One OfflineEmissionsTracker per meter, used through start_task/stop_task, so its
hardware probe (about 1.5 s, cached by codecarbon for the whole process) is paid
once and each span costs milliseconds. No network, no files, no log lines.

Which figure is kept: when codecarbon measures the CPU (RAPL, with the RAPL DRAM
domain where present), joules are that measurement alone and codecarbon's RAM
*model* is left out, so a measured figure never carries an estimate inside it.
When the CPU is modelled (cpu_load or TDP constant), joules are CPU + RAM, both
estimates, and the reading says so. GPU energy is never included (the cuda target
measures it with NVML).

This reads codecarbon 3.3.2 internals (`_ensure_hardware_ready`, `_hardware`,
`CPU._mode`); the version is pinned in pyproject.toml.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from beexbench.targets.base import EnergyMeter, EnergyReading, EnergyUnavailable
from beexbench.targets.codecarbon_power import constant_share, explain_cpu

KWH_TO_J = 3.6e6

# codecarbon CPU mode -> (our source label, estimated)
CPU_MODES: dict[str, tuple[str, bool]] = {
    "intel_rapl": ("rapl", False),
    "windows_emi": ("rapl", False),
    "intel_power_gadget": ("intel-power-gadget", False),
    "cpu_load": ("codecarbon-cpu_load", True),
    "constant": ("codecarbon-tdp", True),
}


def _quiet_codecarbon() -> None:
    # codecarbon logs INFO lines and a "Multiple instances" WARNING while it is
    # constructed, before its own log_level applies.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


def classify(hardware: list[Any]) -> dict[str, Any]:
    """What codecarbon picked, from its hardware objects: source, estimated, scope."""
    cpu = next((h for h in hardware if type(h).__name__ == "CPU"), None)
    board = {
        getattr(h, "chip_part", None): h for h in hardware if type(h).__name__ == "Raspberry"
    }
    apple = any(type(h).__name__ == "AppleSiliconChip" for h in hardware)
    if cpu is not None:
        mode = getattr(cpu, "_mode", "unknown")
        source, estimated = CPU_MODES.get(mode, (f"codecarbon-{mode}", True))
        info: dict[str, Any] = {"source": source, "estimated": estimated}
        if estimated:
            info["scope"] = "cpu+ram"
            power = explain_cpu(cpu)
            use = ("scaled by CPU load" if mode == "cpu_load"
                   else f"{constant_share():.0%} of it at all times")
            info["model"] = (
                f"codecarbon {mode} model, CPU power scale {power.text}, {use}; "
                "RAM power estimated from its size"
            )
            info["cpu_power_w"] = power.watts
            info["cpu_power_basis"] = power.basis
            info["generic_tdp"] = power.basis == "generic"
        else:
            info["scope"] = "cpu (RAPL package, plus the DRAM domain where present)"
        return info
    if "CPU" in board:
        scope = "cpu+ram (Pi 5 PMIC rails)" if "RAM" in board else "cpu (Pi 5 PMIC rails)"
        return {"source": "codecarbon-rpi-pmic", "estimated": False, "scope": scope}
    if apple:
        return {"source": "powermetrics", "estimated": False, "scope": "cpu"}
    return {"source": "codecarbon-unknown", "estimated": True, "scope": "unknown"}


class CodecarbonMeter(EnergyMeter):
    """Energy over a span from codecarbon; see the module docstring for what is kept."""

    def __init__(self, country_iso_code: str = "USA") -> None:
        self.country_iso_code = country_iso_code
        self._tracker: Any = None
        self._info: dict[str, Any] | None = None
        self._names = itertools.count()
        self._running = False

    def _ensure_tracker(self) -> Any:
        if self._tracker is None:
            _quiet_codecarbon()
            from codecarbon import OfflineEmissionsTracker

            _quiet_codecarbon()
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                measure_power_secs=1,
                log_level="error",
                output_methods=[],
                allow_multiple_runs=True,  # no lock file on disk
                rapl_include_dram=True,
            )
            self._tracker._ensure_hardware_ready()
            self._info = classify(self._tracker._hardware)
        return self._tracker

    def describe(self) -> dict[str, Any]:
        """source, estimated, scope (and the model used when estimated)."""
        self._ensure_tracker()
        assert self._info is not None
        return dict(self._info)

    @property
    def source(self) -> str:
        return self.describe()["source"]

    def start(self) -> None:
        tracker = self._ensure_tracker()
        tracker.start_task(f"span-{next(self._names)}")
        self._running = True

    def stop(self) -> EnergyReading:
        if not self._running:
            raise RuntimeError("energy meter stopped before it was started")
        self._running = False
        data = self._tracker.stop_task()
        if data is None:
            raise EnergyUnavailable("codecarbon returned no data for the span")
        assert self._info is not None
        joules = data.cpu_energy * KWH_TO_J
        if self._info["scope"].startswith("cpu+ram"):
            joules += data.ram_energy * KWH_TO_J
        return EnergyReading(
            joules=joules,
            seconds=float(data.duration),
            source=self._info["source"],
            estimated=self._info["estimated"],
        )
