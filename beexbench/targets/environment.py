"""What a run ran on: software versions, the target's description and machine state."""

from __future__ import annotations

import platform
import socket
import sys
from functools import cache
from typing import Any

import torch

from beexbench.core.version import revision
from beexbench.targets.base import Target


@cache
def git_sha() -> str:
    """beexbench's own revision, not the working directory's (beexbench.core.version)."""
    return revision()


def host() -> str:
    return socket.gethostname()


def environment(target: Target, threads: int) -> dict[str, Any]:
    return {
        "host": host(),
        "git_sha": git_sha(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": threads,
        "torch_config": torch.__config__.parallel_info().splitlines()[:6],
        "target": target.name,
        "target_description": target.describe(),
        "machine_state": target.machine_state(),
    }
