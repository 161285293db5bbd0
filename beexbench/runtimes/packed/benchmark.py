"""Speed of the packed 1-bit kernels against the fp32 torch op of the same shape.

Run as ``python -m beexbench.runtimes.packed.benchmark``. For every shape, batch and thread
count the fp32 op and the packed kernels are timed in alternation (one block of
calls each, round after round), so machine noise lands on all of them alike; the
table reports medians over the rounds and speedup = fp32 time / kernel time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from beexbench.models.bitpack import pack_signs
from beexbench.runtimes.packed.kernels import Backend, cpu_model, fallback_backend, get_backend

SHAPES = ((768, 768), (3072, 768), (4096, 4096))  # (out m, in n)
BATCHES = (1, 32)
BLOCK_SECONDS = 0.004  # length of one timed block of calls


def _calls_per_block(fn: Callable[[], object]) -> int:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, int(BLOCK_SECONDS / max(once, 1e-7)))


def measure(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each function, blocks of calls interleaved by round."""
    for fn in fns.values():  # warm-up: caches, lazy init, OpenMP thread pool
        for _ in range(3):
            fn()
    counts = {name: _calls_per_block(fn) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            count = counts[name]
            start = time.perf_counter()
            for _ in range(count):
                fn()
            samples[name].append((time.perf_counter() - start) / count)
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_case(native: Backend, fallback: Backend, m: int, n: int, batch: int,
               rounds: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(m, n, generator=gen)
    x = torch.randn(batch, n, generator=gen)
    alpha = torch.rand(m, generator=gen)
    packed = pack_signs(weight)
    if batch == 1:
        vec = x[0].contiguous()
        fp32: Callable[[], object] = lambda: torch.mv(weight, vec)  # noqa: E731
    else:
        fp32 = lambda: F.linear(x, weight)  # noqa: E731
    fns: dict[str, Callable[[], object]] = {
        "fp32": fp32,
        "w1a1": lambda: native.w1a1(x, packed, n, alpha),
        "w1a32": lambda: native.w1a32(x, packed, n, alpha),
    }
    if fallback is not native:
        fns["fb_w1a1"] = lambda: fallback.w1a1(x, packed, n, alpha)
        fns["fb_w1a32"] = lambda: fallback.w1a32(x, packed, n, alpha)
    return measure(fns, rounds)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beexbench.runtimes.packed.benchmark",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per case")
    args = parser.parse_args(argv)

    all_threads = torch.get_num_threads()
    native = get_backend()
    fallback = fallback_backend() if native.name != "packed-fallback" else native
    print(f"backend: {native.name} ({native.detail})")
    cpus = os.cpu_count() or 1
    print(f"cpu: {cpu_model().split(' fpu ')[0]} [{platform.machine()}], "
          f"{cpus} logical cpus; torch {torch.__version__}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load >= 1.0:
        # Other processes take turns on the cores; a parallel region then waits for a
        # descheduled thread, so multi-thread rows measure the scheduler more than the op.
        print(f"note: load average {load:.1f} on {cpus} cpus before the run: other work "
              "shares this machine, timings are noisy (multi-thread rows most of all)")
    print("threads: torch.set_num_threads(t) sets torch and the packed kernels alike; "
          f"rounds={args.rounds}; times are medians in microseconds")
    print("speedup = fp32 time / kernel time (fp32 op: torch.mv at batch 1, F.linear at 32)")
    print()
    head = ["m x n", "batch", "thr", "fp32 us", "w1a1 us", "w1a1 x", "w1a32 us", "w1a32 x",
            "fb w1a1 x", "fb w1a32 x"]
    widths = [11, 5, 3, 9, 8, 7, 9, 7, 9, 10]
    print(_row(head, widths))
    results = {}
    thread_counts = sorted({1, all_threads})
    try:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for m, n in SHAPES:
                for batch in BATCHES:
                    t = bench_case(native, fallback, m, n, batch, args.rounds)
                    results[(m, n, batch, threads)] = t
                    fb = [f"{t['fp32'] / t[k]:.2f}" if k in t else "-"
                          for k in ("fb_w1a1", "fb_w1a32")]
                    print(_row([f"{m}x{n}", str(batch), str(threads),
                                f"{t['fp32'] * 1e6:.1f}",
                                f"{t['w1a1'] * 1e6:.1f}", f"{t['fp32'] / t['w1a1']:.1f}",
                                f"{t['w1a32'] * 1e6:.1f}", f"{t['fp32'] / t['w1a32']:.1f}",
                                *fb], widths), flush=True)
    finally:
        torch.set_num_threads(all_threads)

    print()
    targets = [
        ("w1a1 GEMV 768x768 >= 10x", (768, 768, 1, 1), "w1a1", 10.0),
        ("w1a32 GEMV 768x768 >= 1x", (768, 768, 1, 1), "w1a32", 1.0),
        ("w1a32 GEMV 4096x4096 >= 2x", (4096, 4096, 1, 1), "w1a32", 2.0),
    ]
    for label, key, kernel, goal in targets:
        t = results[key]
        speedup = t["fp32"] / t[kernel]
        print(f"target {label} (1 thread): {speedup:.1f}x "
              f"{'met' if speedup >= goal else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
