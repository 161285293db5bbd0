"""Which beexbench this is: the installed version, and the revision its code came from.

Both describe beexbench itself, whatever the working directory: the revision is that of
the git checkout the `beexbench` package lives in, or the version when it was installed
from a wheel (no checkout around it).
"""

from __future__ import annotations

import functools
import subprocess
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path

DIST = "beexbench"
# This module sits in beexbench/core/, two levels below the repository root in a checkout.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def version() -> str:
    try:
        return dist_version(DIST)
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def revision() -> str:
    """beexbench's own git revision (12 hex digits), else `v<version>` when it runs from
    an installed wheel."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=SOURCE_ROOT,
                             capture_output=True, text=True, timeout=5, check=False)
        if top.returncode == 0 and Path(top.stdout.strip()).resolve() == SOURCE_ROOT:
            sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=SOURCE_ROOT,
                                 capture_output=True, text=True, timeout=5, check=False)
            if sha.returncode == 0 and sha.stdout.strip():
                return sha.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"v{version()}"
