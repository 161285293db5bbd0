"""The TARGETS registry object, apart from beexbench.targets.registry so adapters can register
without an import cycle (beexbench.targets.registry imports every adapter)."""

from __future__ import annotations

from beexbench.core.registry import Registry
from beexbench.targets.base import Target

TARGETS = Registry[type[Target]]("target", entry_points="beexbench.targets")
