"""Where codecarbon's CPU watt figure comes from when it cannot measure the CPU.

codecarbon 3.3.2 (`codecarbon.core.cpu.TDP._main`, `codecarbon.core.resource_tracker.
ResourceTracker.set_CPU_tracking`, `codecarbon.external.hardware.CPU.from_utils`) picks
the power scale of its CPU model in this order:

- the CPU model it detects (py-cpuinfo's `brand_raw`) is in its TDP table
  (`data/hardware/cpu_power.csv`, fuzzy-matched): that TDP, times the socket count;
- a model is detected but is not in the table: `DEFAULT_POWER_PER_CORE` W per thread;
- no model is detected: the generic `POWER_CONSTANT` W.

The figures are read from the installed codecarbon, not restated here, so the text a
target shows follows the version that measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class CpuPowerBasis:
    """codecarbon's CPU power scale and why it is that figure."""

    watts: float
    basis: str  # "tdp-table", "per-thread" or "generic"
    text: str


def per_thread_watts() -> float:
    from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE

    return float(DEFAULT_POWER_PER_CORE)


def generic_watts() -> float:
    from codecarbon.external.hardware import POWER_CONSTANT

    return float(POWER_CONSTANT)


def constant_share() -> float:
    """The share of the scale that codecarbon's `constant` mode (no psutil) counts."""
    from codecarbon.external.hardware import CONSUMPTION_PERCENTAGE_CONSTANT

    return float(CONSUMPTION_PERCENTAGE_CONSTANT)


@cache
def table_watts(model: str) -> float | None:
    """The TDP codecarbon's own table gives `model` (its own matching), or None."""
    if not model:
        return None
    from codecarbon.core.cpu import TDP

    # TDP() would probe this machine's CPU; only its table lookup is wanted here.
    lookup = TDP.__new__(TDP)
    watts = lookup._get_cpu_power_from_registry(model)
    return None if watts is None else float(watts)


def _fmt(watts: float) -> str:
    return f"{watts:g} W"


def explain(model: str | None, watts: float, generic: bool, threads: int) -> CpuPowerBasis:
    """Why codecarbon uses `watts` for a CPU it reported as `model` with `threads` threads.

    `watts` and `generic` are what codecarbon itself chose (its CPU object's `_tdp` and
    `_is_generic_tdp`); this names the rule that gave them.
    """
    if generic:
        return CpuPowerBasis(watts, "generic", (
            f"{_fmt(watts)}, codecarbon's generic constant for a CPU whose model it "
            "cannot detect"))
    table = table_watts(model or "")
    if table is not None:
        sockets = watts / table
        times = "" if sockets == 1 else f" x {sockets:g} sockets"
        return CpuPowerBasis(watts, "tdp-table", (
            f"{_fmt(watts)}, the TDP of '{model}' in codecarbon's table{times}"))
    per_thread = per_thread_watts()
    expected = per_thread * threads
    times = "" if not expected or watts == expected else f" x {watts / expected:g} sockets"
    named = f"'{model}' is" if model else "the CPU model is"
    return CpuPowerBasis(watts, "per-thread", (
        f"{_fmt(watts)}: {named} not in codecarbon's TDP table, so "
        f"{_fmt(per_thread)} per thread x {threads} threads{times}"))


def explain_cpu(cpu: Any) -> CpuPowerBasis:
    """`explain` for one of codecarbon's CPU hardware objects (read by attribute)."""
    return explain(getattr(cpu, "_model", None), float(getattr(cpu, "_tdp", 0) or 0),
                   bool(getattr(cpu, "_is_generic_tdp", False)),
                   int(getattr(cpu, "_cpu_count", 0) or 0))
