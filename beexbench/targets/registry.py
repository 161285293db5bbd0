"""The target registry: `@TARGETS.register(name)` on a Target class; lookup and listing."""

from __future__ import annotations

from typing import Any

from beexbench.core.errors import UsageError

# Importing the adapters registers them; TARGETS is re-exported from here.
from beexbench.targets import arm, cpu, cuda  # noqa: F401
from beexbench.targets.base import Target
from beexbench.targets.catalog import TARGETS
from beexbench.targets.probe import finite

__all__ = ["TARGETS", "describe_all", "get_target"]

# describe() keys every target provides, in the order `targets --json` prints them
COMMON_KEYS = ("device", "timing_source", "energy_source", "energy_estimated", "coverage")


def get_target(name: str, **options: Any) -> Target:
    """An instance of the named target, ready to measure; UsageError when unavailable."""
    target = TARGETS.get(name)(**options)
    availability = target.available()
    if not availability.ok:
        raise UsageError(f"target {name!r} is not available: {availability.reason}")
    return target


def describe_all() -> list[dict[str, Any]]:
    """Every registered target, available or not: what `beexbench targets` prints."""
    rows = []
    for name in TARGETS.names():
        target = TARGETS.get(name)()
        availability = target.available()
        described = target.describe()
        row: dict[str, Any] = {
            "name": name,
            "available": availability.ok,
            "reason": availability.reason,
        }
        for key in COMMON_KEYS:
            row[key] = described.get(key)
        # target-specific extras (e.g. arm's board) after the common keys
        row.update({k: v for k, v in described.items() if k not in row})
        # an absent device has no state worth reading
        row["machine_state"] = target.machine_state() if availability.ok else {}
        rows.append(finite(row))
    return rows

