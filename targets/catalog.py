"""The TARGETS registry object, apart from targets.registry so adapters can register
without an import cycle (targets.registry imports every adapter)."""

from __future__ import annotations

from harness.registry import Registry
from targets.base import Target

TARGETS = Registry[type[Target]]("target", entry_points="beexbench.targets")
