"""The DATASETS registry object, apart from beexbench.data.registry so loader modules can
register without an import cycle (beexbench.data.registry imports every built-in loader)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from beexbench.core.registry import Registry
from beexbench.data.base import TextDataset

Loader = Callable[[Path | None], TextDataset]

DATASETS: Registry[Loader] = Registry("dataset", entry_points="beexbench.datasets")
