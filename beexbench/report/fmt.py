"""One number format for every figure shown in report.md and report.html.

summary.csv keeps the exact values of results.csv; the report shows them through
`format_value`, so a figure on the page can always be traced back by rounding.
"""

from __future__ import annotations

import math

SIGNIFICANT_DIGITS = 4
MISSING = "—"


def format_value(value: float | None) -> str:
    """Integers in full; figures of 10,000 or more rounded to an integer; else 4 significant digits.

    Counts (bytes, parameters, ops) are shown whole because a byte or an op is the
    unit that regress gates on; everything smaller gets a fixed 4 significant digits.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1e4:
        return f"{value:.0f}"
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def format_tolerance(value: float) -> float:
    """Largest absolute difference between `value` and float(format_value(value))."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return 0.0
    if abs(value) >= 1e4:
        return 0.5
    exponent = math.floor(math.log10(abs(value))) if value else 0
    return 0.5 * 10.0 ** (exponent - SIGNIFICANT_DIGITS + 1)
