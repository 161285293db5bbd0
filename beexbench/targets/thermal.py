"""Thermal zones: /sys/class/thermal/thermal_zone*/{type,temp} (temp in milli-degrees C)."""

from __future__ import annotations

from typing import Any

from beexbench.targets.probe import Probe, put
from beexbench.targets.sysroot import glob, read_number, read_text

# A disabled or absent sensor reads as a huge negative value on some boards
# (Jetson reports -256000 for an offline zone); nothing on a running board is that cold.
MIN_PLAUSIBLE_C = -60.0


def zone_temperature(zone_dir: str) -> Probe:
    probe = read_number(f"{zone_dir}/temp", scale=1e-3)
    if probe.ok and probe.value < MIN_PLAUSIBLE_C:
        return Probe.missing(f"{zone_dir}/temp reads {probe.value:g} C (sensor offline)")
    return Probe(round(probe.value, 3)) if probe.ok else probe


def thermal_zones() -> Probe:
    """[{zone, type, temp_c}] for every zone; unreadable temps are None with a reason."""
    dirs = glob("/sys/class/thermal/thermal_zone[0-9]*")
    if not dirs:
        return Probe.missing("no /sys/class/thermal/thermal_zone* entries")
    zones = []
    for zone_dir in dirs:
        entry: dict[str, Any] = {"zone": zone_dir.rsplit("/", 1)[-1]}
        put(entry, "type", read_text(f"{zone_dir}/type"))
        put(entry, "temp_c", zone_temperature(zone_dir))
        zones.append(entry)
    return Probe(zones)


def max_temperature(zones: list[dict[str, Any]]) -> Probe:
    temps = [z["temp_c"] for z in zones if z.get("temp_c") is not None]
    return Probe(max(temps)) if temps else Probe.missing("no zone gave a temperature")
