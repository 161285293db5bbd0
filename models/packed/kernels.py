"""Packed 1-bit linear kernels: a native build for this CPU, or a pure-torch fallback.

Both backends compute, for packed weights in the layout of :mod:`models.packed.bitpack`:

- ``w1a1(x, w_packed, n, alpha)  = alpha * (sign(x) @ sign(W).T)``, ``sign(0) = +1``;
- ``w1a32(x, w_packed, n, alpha) = x @ (alpha * sign(W)).T``;

with ``x`` float32 ``[B, n]``, ``w_packed`` int64 ``[m, ceil(n/64)]``, ``alpha``
float32 ``[m]``, result float32 ``[B, m]`` (bias is the caller's). The native kernels
are compiled on first use for the CPU that runs them and cached on disk; their
OpenMP threads follow ``torch.set_num_threads``. ``BEEXBENCH_PACKED_BACKEND=fallback``
forces the fallback.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from harness.errors import UsageError
from models.packed.bitpack import unpack_signs, words_for

NATIVE = "packed-native"
FALLBACK = "packed-fallback"
BACKEND_ENV = "BEEXBENCH_PACKED_BACKEND"
SOURCE = Path(__file__).with_name("kernels.cpp")

Kernel = Callable[[torch.Tensor, torch.Tensor, int, torch.Tensor], torch.Tensor]


def validate(x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor) -> None:
    """Raise UsageError unless the arguments fit a packed kernel call."""
    for name, t, dtype in (("x", x, torch.float32), ("w_packed", w_packed, torch.int64),
                           ("alpha", alpha, torch.float32)):
        if not isinstance(t, torch.Tensor):
            raise UsageError(f"packed kernel: {name} must be a tensor, got {type(t).__name__}")
        if t.dtype != dtype:
            raise UsageError(f"packed kernel: {name} must be {dtype}, got {t.dtype}")
        if t.device.type != "cpu":
            raise UsageError(f"packed kernel: {name} must be on the CPU, got {t.device}")
        if not t.is_contiguous():
            raise UsageError(f"packed kernel: {name} must be contiguous")
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise UsageError(f"packed kernel: n must be a positive int, got {n!r}")
    if x.dim() != 2 or x.shape[1] != n:
        raise UsageError(f"packed kernel: x must be [B, {n}], got {list(x.shape)}")
    if w_packed.dim() != 2 or w_packed.shape[1] != words_for(n):
        raise UsageError(
            f"packed kernel: w_packed must be [m, {words_for(n)}] for n={n}, "
            f"got {list(w_packed.shape)}"
        )
    if alpha.dim() != 1 or alpha.shape[0] != w_packed.shape[0]:
        raise UsageError(
            f"packed kernel: alpha must be [{w_packed.shape[0]}], got {list(alpha.shape)}"
        )


@dataclass(frozen=True)
class Backend:
    """One implementation of the packed kernels, with its arguments validated.

    ``self_checked`` implementations check their own arguments (the native kernels,
    whose checks cost nothing next to a Python wrapper's); a failed check is then
    re-diagnosed by :func:`validate` so that the caller gets a UsageError.
    """

    name: str
    detail: str  # build flags, or why the fallback is in use
    _w1a1: Kernel
    _w1a32: Kernel
    self_checked: bool = False

    def _call(self, kernel: Kernel, x: torch.Tensor, w_packed: torch.Tensor, n: int,
              alpha: torch.Tensor) -> torch.Tensor:
        if not self.self_checked:
            validate(x, w_packed, n, alpha)
            return kernel(x, w_packed, n, alpha)
        try:
            return kernel(x, w_packed, n, alpha)
        except (RuntimeError, TypeError):
            validate(x, w_packed, n, alpha)
            raise

    def w1a1(self, x: torch.Tensor, w_packed: torch.Tensor, n: int,
             alpha: torch.Tensor) -> torch.Tensor:
        """``alpha * (sign(x) @ sign(W).T)`` with binary activations; fp32 ``[B, m]``."""
        return self._call(self._w1a1, x, w_packed, n, alpha)

    def w1a32(self, x: torch.Tensor, w_packed: torch.Tensor, n: int,
              alpha: torch.Tensor) -> torch.Tensor:
        """``x @ (alpha * sign(W)).T`` with fp32 activations; fp32 ``[B, m]``."""
        return self._call(self._w1a32, x, w_packed, n, alpha)


# --- pure-torch fallback: unpack the signs and use the fp32 matmul ----------------

def _fallback_w1a1(x: torch.Tensor, w_packed: torch.Tensor, n: int,
                   alpha: torch.Tensor) -> torch.Tensor:
    signs_x = torch.where(x >= 0, 1.0, -1.0)
    # +-1 products summed in fp32 are exact integers (n < 2**24), as in the native popcount.
    return (signs_x @ unpack_signs(w_packed, n).T) * alpha


def _fallback_w1a32(x: torch.Tensor, w_packed: torch.Tensor, n: int,
                    alpha: torch.Tensor) -> torch.Tensor:
    return (x @ unpack_signs(w_packed, n).T) * alpha


def fallback_backend(reason: str = "requested") -> Backend:
    """The pure-torch implementation (slow: it unpacks the weights on every call)."""
    return Backend(FALLBACK, reason, _fallback_w1a1, _fallback_w1a32)


# --- native build ------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU model and feature flags, as the OS reports them (keys the build cache)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    found = re.search(r"^(model name|Hardware|CPU part)\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^(flags|Features)\s*:\s*(.+)$", text, re.MULTILINE)
    return " ".join(m.group(2).strip() for m in (found, flags) if m) or platform.machine()


def native_flags() -> list[str]:
    """Compiler flags for this machine: tuned to the CPU that runs the build."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i686"):
        tune = ["-march=native"]
    elif machine in ("aarch64", "arm64") or machine.startswith("arm"):
        tune = ["-mcpu=native"]
    else:
        tune = []
    return ["-O3", *tune, "-fopenmp"]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "beexbench" / "kernels"


def _build_key(flags: list[str], source: str) -> str:
    parts = [cpu_model(), platform.machine(), torch.__version__, sys.version, *flags, source]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _failure_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() and "building extension" not in
              line.lower()]
    reason = (errors or lines or [type(exc).__name__])[0]
    return reason if len(reason) <= 160 else reason[:157] + "..."


def build_native() -> Backend:
    """Compile (or load the cached build of) the native kernels; raises on failure."""
    from torch.utils import cpp_extension

    flags = native_flags()
    source = SOURCE.read_text()
    key = _build_key(flags, source)
    build_dir = _cache_root() / key
    build_dir.mkdir(parents=True, exist_ok=True)
    module = cpp_extension.load(
        name=f"beexbench_packed_{key}",
        sources=[str(SOURCE)],
        extra_cflags=flags,
        extra_ldflags=["-fopenmp"],
        build_directory=str(build_dir),
        verbose=False,
    )
    return Backend(NATIVE, " ".join(flags), module.w1a1, module.w1a32, self_checked=True)


@functools.cache
def get_backend() -> Backend:
    """The native kernels if they build here, else the fallback (built once per process)."""
    choice = os.environ.get(BACKEND_ENV, "").strip().lower()
    if choice == "fallback":
        return fallback_backend(f"{BACKEND_ENV}=fallback")
    if choice not in ("", "native"):
        raise UsageError(f"{BACKEND_ENV} must be 'native' or 'fallback', got {choice!r}")
    try:
        return build_native()
    except Exception as exc:  # any build or load failure means: use the fallback
        reason = _failure_reason(exc)
        print(f"beexbench: packed kernels could not be built ({reason}); "
              "using the pure-torch fallback", file=sys.stderr)
        return fallback_backend(f"build failed: {reason}")
