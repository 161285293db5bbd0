"""Frequency scaling state from sysfs: governor, turbo/boost, SMT, current clocks."""

from __future__ import annotations

from typing import Any

from beexbench.targets.probe import Probe, put
from beexbench.targets.sysroot import glob, read_number, read_text

CPU_DIR = "/sys/devices/system/cpu"


def governor() -> Probe:
    """cpu0's scaling governor (others are almost always the same policy)."""
    probe = read_text(f"{CPU_DIR}/cpu0/cpufreq/scaling_governor")
    if not probe.ok:
        return Probe.missing(f"no cpufreq governor ({probe.reason})")
    return probe


def boost_enabled() -> Probe:
    """Turbo/boost on? intel_pstate/no_turbo (0 = on) first, then cpufreq/boost (1 = on)."""
    no_turbo = read_text(f"{CPU_DIR}/intel_pstate/no_turbo")
    if no_turbo.ok:
        if no_turbo.value in ("0", "1"):
            return Probe(no_turbo.value == "0")
        return Probe.missing(f"{CPU_DIR}/intel_pstate/no_turbo holds {no_turbo.value!r}")
    boost = read_text(f"{CPU_DIR}/cpufreq/boost")
    if boost.ok:
        if boost.value in ("0", "1"):
            return Probe(boost.value == "1")
        return Probe.missing(f"{CPU_DIR}/cpufreq/boost holds {boost.value!r}")
    return Probe.missing("neither intel_pstate/no_turbo nor cpufreq/boost is present")


def smt_active() -> Probe:
    probe = read_text(f"{CPU_DIR}/smt/active")
    if not probe.ok:
        return probe
    if probe.value not in ("0", "1"):
        return Probe.missing(f"{CPU_DIR}/smt/active holds {probe.value!r}")
    return Probe(probe.value == "1")


def current_freqs_mhz() -> Probe:
    """Per-CPU scaling_cur_freq in MHz, in CPU order.

    /proc/cpuinfo "cpu MHz" is deliberately not used: in a VM it is the nominal
    clock, not a reading.
    """
    paths = glob(f"{CPU_DIR}/cpu[0-9]*/cpufreq/scaling_cur_freq")
    if not paths:
        return Probe.missing(
            f"no {CPU_DIR}/cpu*/cpufreq/scaling_cur_freq (no cpufreq driver, e.g. a VM)"
        )
    freqs = []
    for path in paths:
        probe = read_number(path, scale=1e-3)  # kHz -> MHz
        if not probe.ok:
            return probe
        freqs.append(round(probe.value, 1))
    return Probe(freqs)


def frequency_state() -> dict[str, Any]:
    state: dict[str, Any] = {}
    put(state, "governor", governor())
    put(state, "boost", boost_enabled())
    put(state, "smt_active", smt_active())
    put(state, "cur_freq_mhz", current_freqs_mhz())
    return state
