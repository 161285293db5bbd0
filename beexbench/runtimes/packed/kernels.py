"""Packed 1-bit linear kernels: a native build for this CPU, or a pure-torch fallback.

Both backends compute, for packed weights in the layout of :mod:`beexbench.models.bitpack`:

- ``w1a1(x, w_packed, n, alpha, bias)  = alpha * (sign(x) @ sign(W).T) + bias``,
  ``sign(0) = +1``;
- ``w1a32(x, w_packed, n, alpha, bias) = x @ (alpha * sign(W)).T + bias``;
- ``embedding(w_packed, n, alpha, ids) = (alpha * sign(W))[ids]``, rows unpacked;

with ``x`` float32 ``[B, n]``, ``w_packed`` int64 ``[m, ceil(n/64)]``, ``alpha``
float32 ``[m]``, ``bias`` float32 ``[m]`` or None (added after the product, as a
separate rounding step), result float32 ``[B, m]``. The native kernels
are compiled on first use for the CPU that runs them and cached on disk; their
OpenMP threads follow ``torch.set_num_threads``. ``BEEXBENCH_PACKED_BACKEND=fallback``
forces the fallback.

The native build also carries the engine that runs whole models without Python between
operations (``Backend.engine``: block.cpp, model.cpp; see beexbench.runtimes.packed.engine); the
fallback has none, and its models run module by module.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from beexbench.core.errors import UsageError
from beexbench.core.lifetime import die_with_parent, kill_own_group
from beexbench.core.lock import DirLock, holder_name
from beexbench.models.bitpack import unpack_signs, words_for

log = logging.getLogger(__name__)

NATIVE = "packed-native"
FALLBACK = "packed-fallback"
BACKEND_ENV = "BEEXBENCH_PACKED_BACKEND"
# The extension's translation units, and the headers they share (all key the build cache).
SOURCES = tuple(Path(__file__).with_name(f) for f in ("kernels.cpp", "block.cpp", "model.cpp",
                                                         "bindings.cpp"))
HEADERS = tuple(Path(__file__).with_name(f) for f in ("kernels.h", "block.h", "model.h"))

Kernel = Callable[[torch.Tensor, torch.Tensor, int, torch.Tensor, torch.Tensor | None],
                  torch.Tensor]
EmbeddingKernel = Callable[[torch.Tensor, int, torch.Tensor, torch.Tensor], torch.Tensor]


def _check_tensors(*specs: tuple[str, torch.Tensor, torch.dtype]) -> None:
    for name, t, dtype in specs:
        if not isinstance(t, torch.Tensor):
            raise UsageError(f"packed kernel: {name} must be a tensor, got {type(t).__name__}")
        if t.dtype != dtype:
            raise UsageError(f"packed kernel: {name} must be {dtype}, got {t.dtype}")
        if t.device.type != "cpu":
            raise UsageError(f"packed kernel: {name} must be on the CPU, got {t.device}")
        if not t.is_contiguous():
            raise UsageError(f"packed kernel: {name} must be contiguous")


def _check_weights(w_packed: torch.Tensor, n: int, alpha: torch.Tensor, rows: str) -> None:
    """n, the packed matrix [rows, ceil(n/64)] and its per-row scales agree."""
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise UsageError(f"packed kernel: n must be a positive int, got {n!r}")
    if w_packed.dim() != 2 or w_packed.shape[1] != words_for(n):
        raise UsageError(
            f"packed kernel: w_packed must be [{rows}, {words_for(n)}] for n={n}, "
            f"got {list(w_packed.shape)}"
        )
    if alpha.dim() != 1 or alpha.shape[0] != w_packed.shape[0]:
        raise UsageError(
            f"packed kernel: alpha must be [{w_packed.shape[0]}], got {list(alpha.shape)}"
        )


def validate(x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
             bias: torch.Tensor | None = None) -> None:
    """Raise UsageError unless the arguments fit a packed linear kernel call."""
    _check_tensors(("x", x, torch.float32), ("w_packed", w_packed, torch.int64),
                   ("alpha", alpha, torch.float32))
    _check_weights(w_packed, n, alpha, "m")
    if x.dim() != 2 or x.shape[1] != n:
        raise UsageError(f"packed kernel: x must be [B, {n}], got {list(x.shape)}")
    if bias is not None:
        _check_tensors(("bias", bias, torch.float32))
        if bias.dim() != 1 or bias.shape[0] != w_packed.shape[0]:
            raise UsageError(
                f"packed kernel: bias must be [{w_packed.shape[0]}], got {list(bias.shape)}"
            )


def validate_embedding(w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
                       ids: torch.Tensor) -> None:
    """Raise UsageError unless the arguments fit a packed embedding lookup."""
    _check_tensors(("w_packed", w_packed, torch.int64), ("alpha", alpha, torch.float32),
                   ("ids", ids, torch.int64))
    _check_weights(w_packed, n, alpha, "V")
    if ids.dim() != 1:
        raise UsageError(f"packed kernel: ids must be [N], got {list(ids.shape)}")
    if ids.numel() and not (0 <= int(ids.min()) and int(ids.max()) < w_packed.shape[0]):
        raise UsageError(f"packed kernel: ids must lie in [0, {w_packed.shape[0]})")


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
    _embedding: EmbeddingKernel
    self_checked: bool = False
    engine: Any = None  # the native module, whose engine runs whole models (block.h, model.h)

    def _checked(self, kernel: Callable[..., torch.Tensor], check: Callable[..., None],
                 *args: object) -> torch.Tensor:
        if not self.self_checked:
            check(*args)
            return kernel(*args)
        try:
            return kernel(*args)
        except (RuntimeError, TypeError):
            check(*args)
            raise

    def w1a1(self, x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
             bias: torch.Tensor | None = None) -> torch.Tensor:
        """``alpha * (sign(x) @ sign(W).T) + bias`` with binary activations; fp32 ``[B, m]``."""
        return self._checked(self._w1a1, validate, x, w_packed, n, alpha, bias)

    def w1a32(self, x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
              bias: torch.Tensor | None = None) -> torch.Tensor:
        """``x @ (alpha * sign(W)).T + bias`` with fp32 activations; fp32 ``[B, m]``."""
        return self._checked(self._w1a32, validate, x, w_packed, n, alpha, bias)

    def embedding(self, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
                  ids: torch.Tensor) -> torch.Tensor:
        """Rows ``ids`` (1-D) of ``alpha * sign(W)``, unpacked; fp32 ``[N, n]``."""
        return self._checked(self._embedding, validate_embedding, w_packed, n, alpha, ids)


# --- pure-torch fallback: unpack the signs and use the fp32 matmul ----------------

def _with_bias(y: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return y if bias is None else y + bias


def _fallback_w1a1(x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
                   bias: torch.Tensor | None) -> torch.Tensor:
    signs_x = torch.where(x >= 0, 1.0, -1.0)
    # +-1 products summed in fp32 are exact integers (n < 2**24), as in the native popcount.
    return _with_bias((signs_x @ unpack_signs(w_packed, n).T) * alpha, bias)


def _fallback_w1a32(x: torch.Tensor, w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
                    bias: torch.Tensor | None) -> torch.Tensor:
    return _with_bias((x @ unpack_signs(w_packed, n).T) * alpha, bias)


def _fallback_embedding(w_packed: torch.Tensor, n: int, alpha: torch.Tensor,
                        ids: torch.Tensor) -> torch.Tensor:
    return alpha[ids].unsqueeze(-1) * unpack_signs(w_packed[ids], n)


def fallback_backend(reason: str = "requested") -> Backend:
    """The pure-torch implementation (slow: it unpacks the weights on every call)."""
    return Backend(FALLBACK, reason, _fallback_w1a1, _fallback_w1a32, _fallback_embedding)


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
    # No FMA contraction: products and sums round as the separate torch ops they stand for.
    return ["-O3", *tune, "-ffp-contract=off", "-fopenmp"]


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


# How long a build waits for another process's build of the same kernels (a cold build
# takes 40 to 80 s on two cores), and how long its own compile may take, before it gives
# up and runs on the fallback.
BUILD_WAIT_S = 600.0


def clear_killed_build(build_dir: Path) -> bool:
    """Remove a build folder that torch's lock file says a build never finished in (call
    it holding the build's DirLock: then no live build is in there); True if removed."""
    if not (build_dir / "lock").exists():
        return False
    log.info("removing a packed-kernels build that was killed before it finished")
    # Moved aside first: compilers the killed build left running still write there.
    stale = build_dir.with_name(f"{build_dir.name}.killed-{os.getpid()}")
    build_dir.rename(stale)
    shutil.rmtree(stale, ignore_errors=True)
    return True


def _say_waiting(holder: int | None) -> None:
    log.info("waiting for the packed kernels' build lock, held by %s", holder_name(holder))


def _extension(key: str, flags: list[str], build_dir: Path) -> Any:
    """torch's build-and-load of the kernels in `build_dir` (a no-op build when built)."""
    from torch.utils import cpp_extension

    return cpp_extension.load(
        name=f"beexbench_packed_{key}",
        sources=[str(path) for path in SOURCES],
        extra_cflags=flags,
        extra_ldflags=["-fopenmp"],
        build_directory=str(build_dir),
        verbose=False,
    )


def compile_in_child(parent: int, key: str, flags: list[str], build_dir: str) -> None:
    """(The build process) compile the kernels; when `parent` dies, kill this process's
    group, the ninja and compilers under it included."""
    die_with_parent(parent, kill_own_group)
    _extension(key, flags, Path(build_dir))


def _compile(key: str, flags: list[str], build_dir: Path) -> None:
    """Compile in a process of its own group that dies with this one: a killed bench
    leaves no compiler running (in-process, ninja and the compilers outlived it)."""
    code = ("import sys, json; from beexbench.runtimes.packed.kernels import "
            "compile_in_child as c; c(*json.loads(sys.argv[1]))")
    args = json.dumps([os.getpid(), key, flags, str(build_dir)])
    # The child imports this very beexbench, wherever it was found (a sys.path-only copy
    # included), and torch.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", code, args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=BUILD_WAIT_S)
    except BaseException:  # Ctrl-C, a timeout: the whole group goes, compilers included
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(err.strip() or f"the build exited with {proc.returncode}")


def build_native() -> Backend:
    """Compile (or load the cached build of) the native kernels; raises on failure."""
    flags = native_flags()
    source = "\n".join(path.read_text() for path in (*SOURCES, *HEADERS))
    key = _build_key(flags, source)
    build_dir = _cache_root() / key
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    # Our lock around torch's: the kernel drops ours when its holder dies, however it
    # dies. torch's own (a `lock` file in the build folder) stays behind a killed build,
    # and every later build would wait on it forever.
    lock = DirLock.wait_for(build_dir.with_name(f"{key}.lock"), "the packed kernels' build",
                            BUILD_WAIT_S, on_wait=_say_waiting)
    try:
        clear_killed_build(build_dir)
        build_dir.mkdir(parents=True, exist_ok=True)
        if not (build_dir / f"beexbench_packed_{key}.so").exists():
            _compile(key, flags, build_dir)
        module = _extension(key, flags, build_dir)
    finally:
        lock.release()
    return Backend(NATIVE, " ".join(flags), module.w1a1, module.w1a32, module.embedding,
                   self_checked=True, engine=module)


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
        # A warning (kept under -q): the fallback is far slower than what was asked for.
        log.warning("packed kernels could not be built (%s); using the pure-torch fallback",
                 reason)
        return fallback_backend(f"build failed: {reason}")
