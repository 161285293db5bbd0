"""Read a sweep directory (`beexbench sweep`) as the run directories it holds."""

from __future__ import annotations

from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.results.layout import RESULTS, SWEEP_FILE


def is_sweep_dir(path: Path) -> bool:
    return (path / SWEEP_FILE).is_file()


def cell_run_dirs(root: Path) -> list[Path]:
    """The run directories of a sweep that hold results: <target>/seed-<S>/."""
    return sorted(p.parent for p in root.glob(f"*/seed-*/{RESULTS}") if p.is_file())


def expand_sweep(path: Path) -> list[Path]:
    """A sweep directory (`beexbench sweep`) stands for its run directories, one per
    (target, seed); any other path stands for itself."""
    if not is_sweep_dir(path):
        return [path]
    found = cell_run_dirs(path)
    if not found:
        raise UsageError(f"sweep directory {path}: no cell has finished yet")
    return found
