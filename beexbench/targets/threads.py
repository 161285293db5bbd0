"""Host intra-op thread count, shared by every target (torch and the OpenMP it uses)."""

from __future__ import annotations

import os

from beexbench.core.errors import UsageError


def set_host_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None: every CPU in this process's affinity set)."""
    import torch
    if threads is None:
        threads = len(os.sched_getaffinity(0))
    if threads < 1:
        raise UsageError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    return torch.get_num_threads()
