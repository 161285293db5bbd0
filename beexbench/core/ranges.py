"""Range and finiteness checks of numeric settings, shared by the config dataclasses so
that every entry point (CLI, config.json, tests) refuses the same values with one line
naming the option."""

from __future__ import annotations

import math
import os

from beexbench.core.errors import UsageError

THREADS_PER_CORE_MAX = 4  # more intra-op threads than this per core only oversubscribes


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_int(option: str, value: object, lo: int, hi: int) -> int:
    """`value` if it is an integer (not a bool) in [lo, hi], else UsageError naming `option`."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UsageError(f"{option} must be an integer between {lo} and {hi}, "
                         f"got {_shown(value)}")
    return value


def check_float(option: str, value: object, lo: float, hi: float) -> float:
    """`value` as a float if it is a finite number in [lo, hi], else UsageError."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    try:
        number = float(value) if ok else math.nan  # type: ignore[arg-type]
    except OverflowError:
        number = math.nan
    if not math.isfinite(number) or not lo <= number <= hi:
        raise UsageError(f"{option} must be a finite number between {lo:g} and {hi:g}, "
                         f"got {_shown(value)}")
    return number


def max_threads() -> int:
    """The most intra-op threads a run may ask for: this machine's cores times four."""
    return (os.cpu_count() or 1) * THREADS_PER_CORE_MAX
