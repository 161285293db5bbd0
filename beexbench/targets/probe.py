"""A reading that is either a value or the reason it could not be had.

Machine state uses one convention everywhere: an item that could not be read is
`None`, and a parallel key `<item>_reason` says why. Items that were read carry no
reason key. Nothing is guessed to fill a gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Probe:
    value: Any
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None

    @classmethod
    def missing(cls, reason: str) -> Probe:
        return cls(None, reason)


def put(state: dict[str, Any], key: str, probe: Probe) -> None:
    """Store a probe under `key`, adding `<key>_reason` when it holds no value."""
    state[key] = probe.value
    if probe.value is None:
        state[f"{key}_reason"] = probe.reason or "not read"


def finite(value: Any) -> Any:
    """`value` with every non-finite float made None: in a dict with a `<key>_reason`
    beside it, so that the state prints as strict JSON and still says what happened."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                out[key] = None
                out.setdefault(f"{key}_reason", f"read as {item}, not a finite number")
            else:
                out[key] = finite(item)
        return out
    if isinstance(value, (list, tuple)):
        return [None if isinstance(x, float) and not math.isfinite(x) else finite(x)
                for x in value]
    return value
