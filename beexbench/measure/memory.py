"""Peak resident memory of this process over a span, and resident parameter bytes.

On Linux the kernel's high-water mark (VmHWM) can be reset for the process by
writing 5 to /proc/self/clear_refs, so the peak is that of the span alone (not of
the training before it). Where that is not possible, a psutil sampler thread
(200 Hz) records the peak instead; the source says which was used.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import torch

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def _vmhwm_kb() -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Context manager: `.peak_mb` and `.source` after the block."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.source = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled = 0

    def _reset_hwm(self) -> bool:
        try:
            CLEAR_REFS.write_text("5")
        except OSError:
            return False
        return _vmhwm_kb() is not None

    def _sample(self) -> None:
        proc = psutil.Process()
        while not self._stop.wait(0.005):
            self._sampled = max(self._sampled, proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        if self._reset_hwm():
            self.source = "vmhwm"
        else:
            self.source = "psutil-sampled"
            self._sampled = psutil.Process().memory_info().rss
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self._sampled, psutil.Process().memory_info().rss) / 2**20
        else:
            self.peak_mb = (_vmhwm_kb() or 0) / 1024


def resident_parameter_bytes(model: torch.nn.Module) -> int:
    """Bytes of every parameter and buffer as held in memory for inference."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def resident_bytes(model: object) -> tuple[int, str]:
    """Parameter bytes held for inference, and where the figure comes from: a torch
    module's tensors, or the weights of the graphs a runtime such as ONNX Runtime holds
    (it reports them itself, through `parameter_bytes()`)."""
    if isinstance(model, torch.nn.Module):
        return resident_parameter_bytes(model), "module"
    return int(model.parameter_bytes()), "graph-initializers"  # type: ignore[attr-defined]
