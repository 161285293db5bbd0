"""A measured power rail, shared by the Jetson INA3221 and Raspberry Pi 5 PMIC readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PowerRail:
    name: str
    watts: float
    volts: float | None = None
    amps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 6)

        return {"name": self.name, "volts": r(self.volts), "amps": r(self.amps),
                "watts": r(self.watts)}
