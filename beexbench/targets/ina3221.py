"""Jetson power rails from the INA3221 monitors.

Two sysfs layouts:
- hwmon (L4T 34+, Orin): /sys/class/hwmon/hwmon*/name == "ina3221", channel N has
  in<N>_label, in<N>_input (mV) and curr<N>_input (mA); watts = mV * mA / 1e6.
  Channels without a current (the driver's "sum of shunt voltages") and channels
  labelled "NC" (not connected) are skipped.
- iio (L4T 32, Nano/TX2/Xavier): /sys/bus/i2c/drivers/ina3221x/*/iio:device*/ with
  rail_name_<N>, in_power<N>_input (mW), in_voltage<N>_input (mV), in_current<N>_input (mA).

Total: when a module-input rail exists (VDD_IN on Orin Nano/NX and Xavier NX,
POM_5V_IN on Nano/TX2) the other rails are parts of it, so the total is that rail
alone; otherwise (AGX Orin, AGX Xavier) the rails are disjoint and are summed.
Either way the rails cover the Jetson module, not the carrier board.
"""

from __future__ import annotations

import math
import re
from typing import Any

from beexbench.targets.probe import Probe
from beexbench.targets.rails import PowerRail
from beexbench.targets.sysroot import glob, read_number, read_text

MODULE_INPUT_RAILS = ("VDD_IN", "POM_5V_IN")
COVERAGE = (
    "INA3221 rails measure the Jetson module's supplies; the carrier board "
    "(USB, fan, NVMe, Ethernet, its regulators) is not covered"
)


def hwmon_dirs() -> list[str]:
    return [d for d in glob("/sys/class/hwmon/hwmon[0-9]*")
            if read_text(f"{d}/name").value == "ina3221"]


def iio_dirs() -> list[str]:
    return glob("/sys/bus/i2c/drivers/ina3221x/*/iio:device[0-9]*")


def _hwmon_rails(hwmon: str) -> list[PowerRail]:
    rails = []
    for label_path in glob(f"{hwmon}/in[0-9]*_label"):
        channel = re.search(r"in(\d+)_label$", label_path).group(1)  # type: ignore[union-attr]
        label = read_text(label_path)
        if not label.ok or label.value.upper() == "NC":
            continue
        if not read_text(f"{hwmon}/curr{channel}_input").ok:
            continue  # the sum-of-shunts channel has no current
        mv = read_number(f"{hwmon}/in{channel}_input")
        ma = read_number(f"{hwmon}/curr{channel}_input")
        for probe in (mv, ma):
            if not probe.ok:
                raise OSError(probe.reason)
        rails.append(PowerRail(label.value, mv.value * ma.value / 1e6, mv.value / 1e3,
                               ma.value / 1e3))
    return rails


def _iio_rails(device: str) -> list[PowerRail]:
    rails = []
    for name_path in glob(f"{device}/rail_name_[0-9]*"):
        channel = name_path.rsplit("_", 1)[-1]
        label = read_text(name_path)
        if not label.ok or label.value.upper() == "NC":
            continue
        mw = read_number(f"{device}/in_power{channel}_input")
        if not mw.ok:
            raise OSError(mw.reason)
        mv = read_number(f"{device}/in_voltage{channel}_input")
        ma = read_number(f"{device}/in_current{channel}_input")
        rails.append(PowerRail(
            label.value, mw.value / 1e3,
            mv.value / 1e3 if mv.ok else None, ma.value / 1e3 if ma.ok else None,
        ))
    return rails


def read_rails() -> list[PowerRail]:
    """Every INA3221 rail now; OSError when a rail cannot be read or none exists."""
    rails: list[PowerRail] = []
    for hwmon in hwmon_dirs():
        rails += _hwmon_rails(hwmon)
    for device in iio_dirs():
        rails += _iio_rails(device)
    if not rails:
        raise OSError("no INA3221 rails (no hwmon named ina3221, no ina3221x iio device)")
    for rail in rails:
        if not math.isfinite(rail.watts) or rail.watts < 0:
            raise OSError(f"INA3221 rail {rail.name} reads {rail.watts:g} W")
    return rails


def total_watts(rails: list[PowerRail]) -> tuple[float, str]:
    """(watts, rule): the module-input rail where one exists, else the sum of rails."""
    for rail in rails:
        if rail.name.upper() in MODULE_INPUT_RAILS:
            return rail.watts, f"{rail.name} (module input; other rails are parts of it)"
    return sum(r.watts for r in rails), "sum of rails"


def read_total_watts() -> float:
    """Total module power now, for the sampler."""
    return total_watts(read_rails())[0]


def power_state() -> Probe:
    """{rails, total_watts, total_rule, coverage} or the reason there are no rails."""
    try:
        rails = read_rails()
    except (OSError, ValueError) as exc:
        return Probe.missing(str(exc))
    total, rule = total_watts(rails)
    state: dict[str, Any] = {
        "sensor": "ina3221",
        "rails": [r.to_dict() for r in rails],
        "total_watts": round(total, 6),
        "total_rule": rule,
        "coverage": COVERAGE,
    }
    return Probe(state)
