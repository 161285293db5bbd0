"""The export format registry: `@FORMATS.register(name)` on an Exporter subclass.

Each format lives in its own module of this package; `get_format` and `format_names`
import the built-in ones (which registers them) on first use. Nothing here imports
pandas or torch, so the command line lists the formats without them.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from beexbench.core.registry import Registry

if TYPE_CHECKING:
    from beexbench.results.rundir import Run


class Exporter(ABC):
    """One export format: `write` puts the runs where the format's reader looks and
    returns one line saying what it wrote."""

    # Whether the format writes files into --out (a tracking server needs none).
    needs_out: bool = True
    # The files it writes into --out: an --out folder may hold these and nothing else.
    files: tuple[str, ...] = ()

    def check(self) -> None:  # noqa: B027 (a hook: most formats need nothing)
        """Raise UsageError when the format cannot run here (a missing extra), before any
        run is read."""

    @abstractmethod
    def write(self, runs: list[Run], out: Path | None) -> str:
        """Export `runs` (into `out` where the format writes files); one line on what."""


FORMATS: Registry[type[Exporter]] = Registry("export format")

# The built-in formats, imported (and so registered) in the order `--help` lists them.
BUILT_IN = ("beexbench.export.github_action_benchmark", "beexbench.export.jsonl",
            "beexbench.export.mlflow_runs")


def _load_built_in() -> None:
    # By name, at first use: the format modules import this one for FORMATS.
    for module in BUILT_IN:
        importlib.import_module(module)


def format_names() -> list[str]:
    _load_built_in()
    return FORMATS.names()


def get_format(name: str) -> Exporter:
    """An instance of the named format; a UsageError naming the valid ones on a miss."""
    _load_built_in()
    return FORMATS.get(name)()


def all_files() -> set[str]:
    """Every file name some export format writes."""
    _load_built_in()
    return {f for name in FORMATS.names() for f in FORMATS.get(name).files}
