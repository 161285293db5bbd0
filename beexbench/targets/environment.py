"""What a run ran on: software versions, the target's description and machine state."""

from __future__ import annotations

import os
import platform
import socket
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import Any

import psutil
import torch

from beexbench.core.version import revision, version
from beexbench.targets.base import Target


@cache
def git_sha() -> str:
    """beexbench's own revision, not the working directory's (beexbench.core.version)."""
    return revision()


def host() -> str:
    return socket.gethostname()


# The packages whose versions move figures (kernels, exporters, counters, meters).
PACKAGES = ("torch", "numpy", "onnx", "onnxruntime", "fvcore", "codecarbon", "safetensors",
            "tokenizers", "pandas", "scipy", "psutil")
MACHINE_ENV = "BEEXBENCH_MACHINE"


def package_versions() -> dict[str, str | None]:
    """Installed version of each of PACKAGES (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = dist_version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def machine_label(given: str | None = None) -> str:
    """The machine's name in results: `--machine`, else $BEEXBENCH_MACHINE, else the host
    name (every Raspberry Pi is `raspberrypi`: a fleet names its machines)."""
    return given or os.environ.get(MACHINE_ENV, "").strip() or host()


def environment(target: Target, threads: int, machine: str | None = None) -> dict[str, Any]:
    return {
        "machine": machine_label(machine),
        "host": host(),
        "beexbench": version(),
        "git_sha": git_sha(),
        "packages": package_versions(),
        "ram_bytes": psutil.virtual_memory().total,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": threads,
        "torch_config": torch.__config__.parallel_info().splitlines()[:6],
        "target": target.name,
        "target_description": target.describe(),
        "machine_state": target.machine_state(),
    }
