"""The `arm` target: Raspberry Pi and Jetson boards (and any ARM machine).

Runs on the CPU like `cpu` and adds board detection, NEON/dotprod/SVE flags,
thermal zones, Pi throttling flags, and energy from the board's own power sensor
(Jetson INA3221 rails, Raspberry Pi 5 PMIC) sampled on a background thread. With no
sensor it falls back to codecarbon's estimate, labelled as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from beexbench.targets import ina3221, vcgencmd
from beexbench.targets.base import Availability, EnergyMeter
from beexbench.targets.board import Board, arm_detection, detect_board
from beexbench.targets.catalog import TARGETS
from beexbench.targets.codecarbon_meter import CodecarbonMeter
from beexbench.targets.contention import Snapshot, read_snapshot
from beexbench.targets.cpu import CpuTarget
from beexbench.targets.cpuinfo import read_cpuinfo
from beexbench.targets.probe import Probe, put
from beexbench.targets.sampler import PowerReader, SampledEnergyMeter
from beexbench.targets.simd import arm_simd
from beexbench.targets.thermal import max_temperature, thermal_zones

# hwmon reads take microseconds; vcgencmd takes milliseconds per call, so the PMIC
# rate is bounded by the command itself (the sampler records what it achieved).
DEFAULT_HZ = {"ina3221": 50.0, "rpi-pmic": 20.0}

# The watt figure itself comes from codecarbon's own choice (see codecarbon_power): on
# a board it is a table TDP (Cortex-A72, Cortex-A76), 4 W per thread for a core it does
# not know, or a generic constant when it detects no CPU model at all.
CODECARBON_ARM_NOTE = (
    "no board power sensor found, so codecarbon's estimate is used: {model}. A model "
    "figure, not a measurement of this board"
)


@TARGETS.register("arm")
class ArmTarget(CpuTarget):
    """The cpu target plus board sensors; `sample_hz` sets the power sampling rate."""

    description = "an ARM board (Raspberry Pi, Jetson): the cpu target plus board power sensors"

    name = "arm"

    def __init__(self, affinity: Iterable[int] | None = None,
                 sample_hz: float | None = None) -> None:
        super().__init__(affinity=affinity)
        self.sample_hz = sample_hz

    def available(self) -> Availability:
        found = arm_detection()
        return Availability(found.ok, found.value if found.ok else found.reason)

    def board(self) -> Board:
        return detect_board()

    def power_sensor(self, board: Board | None = None) -> tuple[str, PowerReader] | None:
        """(source, read_watts) of the board's power sensor, or None when it has none."""
        board = board or self.board()
        if ina3221.power_state().ok:
            return "ina3221", ina3221.read_total_watts
        if board.is_raspberry_pi and vcgencmd.read_pmic().ok:
            return "rpi-pmic", vcgencmd.pmic_watts
        return None

    def power_state(self, board: Board) -> Probe:
        sensor = self.power_sensor(board)
        if sensor is None:
            rails = ina3221.power_state()
            return Probe.missing(
                f"no INA3221 rails ({rails.reason}) and no Raspberry Pi 5 PMIC "
                "(vcgencmd pmic_read_adc)"
            )
        if sensor[0] == "ina3221":
            return ina3221.power_state()
        return vcgencmd.pmic_power_state()

    def energy_meter(self) -> EnergyMeter:
        if self._meter is None:
            sensor = self.power_sensor()
            if sensor is None:
                self._meter = CodecarbonMeter()
            else:
                source, reader = sensor
                hz = self.sample_hz or DEFAULT_HZ[source]
                self._meter = SampledEnergyMeter(reader, source=source, hz=hz)
        return self._meter

    def describe(self) -> dict[str, Any]:
        base = {"name": self.name, "timing_source": self.timing_source}
        if not self.available().ok:
            return {**base, "device": None,
                    "energy_source": "ina3221, rpi-pmic or a codecarbon estimate (per board)",
                    "energy_estimated": None, "coverage": None}
        board = self.board()
        meter = self.energy_meter()
        if isinstance(meter, CodecarbonMeter):
            energy = meter.describe()
            source, estimated = energy["source"], energy["estimated"]
            if estimated:
                note = CODECARBON_ARM_NOTE.format(model=energy.get("model") or "its model")
            else:  # codecarbon found a sensor of its own (its Pi 5 PMIC reader)
                note = f"measured by codecarbon ({source})"
            coverage = f"{energy['scope']}; {note}"
        else:
            assert isinstance(meter, SampledEnergyMeter)
            source, estimated = meter.source, False
            coverage = ina3221.COVERAGE if source == "ina3221" else vcgencmd.PMIC_COVERAGE
        info = read_cpuinfo()
        cores = " + ".join(info.value.cores) if info.ok and info.value.cores else None
        device = board.model or (f"{board.kind} ({cores})" if cores else board.kind)
        return {**base, "device": device, "board": board.kind,
                "energy_source": source, "energy_estimated": estimated, "coverage": coverage}

    def contention(self) -> Snapshot:
        """As any CPU's, plus the Raspberry Pi firmware's "throttled now" flags."""
        throttled = None
        if self.board().is_raspberry_pi:
            flags = vcgencmd.read_throttled()
            throttled = any(flags.value["now"].values()) if flags.ok else None
        return read_snapshot(throttled)

    def machine_state(self) -> dict[str, Any]:
        state = super().machine_state()
        board = self.board()
        state["board"] = board.to_dict()
        info = read_cpuinfo()
        put(state, "arm_simd", Probe(arm_simd(info.value)) if info.ok else info)
        put(state, "cores", Probe(list(info.value.cores) or None, "no CPU part lines")
            if info.ok else info)
        zones = thermal_zones()
        put(state, "thermal_zones", zones)
        put(state, "max_temp_c", max_temperature(zones.value) if zones.ok else zones)
        if board.is_raspberry_pi:
            put(state, "throttled", vcgencmd.read_throttled())
        else:
            put(state, "throttled", Probe.missing(
                "throttle flags are read from vcgencmd on Raspberry Pi only; "
                "see thermal_zones and cur_freq_mhz"))
        put(state, "power", self.power_state(board))
        return state
