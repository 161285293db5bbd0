"""Raspberry Pi firmware queries through `vcgencmd`: throttling state and PMIC power."""

from __future__ import annotations

import math
import re
from typing import Any

from beexbench.targets.probe import Probe
from beexbench.targets.rails import PowerRail
from beexbench.targets.sysroot import run_command

# `vcgencmd get_throttled` bits; bit n + 16 is the same condition, "has occurred".
THROTTLE_BITS: dict[int, str] = {
    0: "under_voltage",
    1: "freq_capped",
    2: "throttled",
    3: "soft_temp_limit",
}
OCCURRED_SHIFT = 16

_THROTTLED_RE = re.compile(r"^\s*throttled=(0x[0-9a-fA-F]+|\d+)\s*$")
# "  VDD_CORE_A current(7)=2.41150000A" / "  VDD_CORE_V volt(15)=0.88080000V"
_PMIC_RE = re.compile(
    r"^\s*(?P<rail>[A-Za-z0-9_]+)_(?P<kind>[AV])\s+(?:current|volt)\(\d+\)="
    r"(?P<value>[-+0-9.eE]+)(?P<unit>[AV])\s*$"
)


def parse_throttled(text: str) -> int:
    """The bit mask from `throttled=0x50005`; ValueError on anything else."""
    for line in text.splitlines():
        match = _THROTTLED_RE.match(line)
        if match:
            return int(match.group(1), 0)
    raise ValueError(f"no throttled=0x... line in {text.strip()[:60]!r}")


def decode_throttled(mask: int) -> dict[str, Any]:
    """{"raw": "0x50005", "now": {...: bool}, "occurred": {...: bool}}."""
    return {
        "raw": f"0x{mask:x}",
        "now": {name: bool(mask >> bit & 1) for bit, name in THROTTLE_BITS.items()},
        "occurred": {
            name: bool(mask >> (bit + OCCURRED_SHIFT) & 1) for bit, name in THROTTLE_BITS.items()
        },
    }


def read_throttled() -> Probe:
    probe = run_command(["vcgencmd", "get_throttled"])
    if not probe.ok:
        return probe
    try:
        return Probe(decode_throttled(parse_throttled(probe.value)))
    except ValueError as exc:
        return Probe.missing(f"vcgencmd get_throttled: {exc}")


def parse_pmic(text: str) -> list[PowerRail]:
    """Rails with both a current and a voltage line, paired by name, in first-seen order.

    Lines with only a voltage (EXT5V_V, BATT_V) have no power and are skipped.
    ValueError when no rail pairs up (not a Pi 5, or garbage output).
    """
    volts: dict[str, float] = {}
    amps: dict[str, float] = {}
    order: list[str] = []
    for line in text.splitlines():
        match = _PMIC_RE.match(line)
        if not match or match["kind"] != match["unit"]:
            continue
        rail = match["rail"]
        try:
            value = float(match["value"])
        except ValueError:
            continue  # a garbled line loses that rail, not the whole reading
        if not math.isfinite(value):
            continue  # 1e999 overflows to inf: as garbled as any other bad number
        (amps if match["kind"] == "A" else volts)[rail] = value
        if rail not in order:
            order.append(rail)
    rails = [
        PowerRail(r, volts[r] * amps[r], volts[r], amps[r])
        for r in order
        if r in volts and r in amps
    ]
    if not rails:
        raise ValueError(f"no rail with both current and voltage in {text.strip()[:60]!r}")
    return rails


def read_pmic() -> Probe:
    """The Pi 5 PMIC rails now, or the reason there are none."""
    probe = run_command(["vcgencmd", "pmic_read_adc"])
    if not probe.ok:
        return probe
    try:
        return Probe(parse_pmic(probe.value))
    except ValueError as exc:
        return Probe.missing(f"vcgencmd pmic_read_adc: {exc}")


def pmic_watts() -> float:
    """Total PMIC power now, for the sampler; OSError when the PMIC cannot be read."""
    probe = read_pmic()
    if not probe.ok:
        raise OSError(probe.reason)
    return sum(rail.watts for rail in probe.value)


PMIC_COVERAGE = (
    "Pi 5 PMIC rails cover the SoC, DRAM and on-board supplies; USB devices, the fan "
    "and HATs fed from the 5 V input are not covered (EXT5V has no current sensor)"
)


def pmic_power_state() -> Probe:
    """{rails, total_watts, coverage} from the PMIC, or the reason there is none."""
    probe = read_pmic()
    if not probe.ok:
        return probe
    rails = probe.value
    return Probe({
        "sensor": "rpi-pmic",
        "rails": [r.to_dict() for r in rails],
        "total_watts": round(sum(r.watts for r in rails), 6),
        "total_rule": "sum of rails",
        "coverage": PMIC_COVERAGE,
    })
