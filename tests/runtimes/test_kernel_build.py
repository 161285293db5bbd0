"""The native kernels' build: a bench killed while it compiles leaves no compiler running
and no lock that blocks the next build, which then completes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
from conftest import BENCH_FAST, REPO

COMPILERS = ("cc1plus", "c++", "g++", "gcc", "ninja", "ld", "collect2", "as")
BUILD_BOUND_S = 420  # a cold build takes about a minute on two cores


def _bench(tmp_path: Path, out: str, env: dict) -> list[str]:
    return [sys.executable, "-m", "beexbench", "-q", "bench", "--models", "beexformer",
            "--runtimes", "packed", "--no-energy", "--out", str(tmp_path / out), *BENCH_FAST]


def _compilers_under(pid: int) -> list[psutil.Process]:
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [k for k in kids if _name(k).startswith(COMPILERS)]


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def test_a_bench_killed_while_the_kernels_compile_leaves_nothing_behind(tmp_path,
                                                                        checkpoint_cache):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "BEEXBENCH_CHECKPOINTS": str(checkpoint_cache)}
    env.pop("BEEXBENCH_PACKED_BACKEND", None)
    bench = subprocess.Popen(_bench(tmp_path, "killed", env), env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + BUILD_BOUND_S
        compilers: list[psutil.Process] = []
        while not compilers and time.monotonic() < deadline and bench.poll() is None:
            compilers = _compilers_under(bench.pid)
            time.sleep(0.2)
        assert compilers, "no compiler started under bench"
        family = psutil.Process(bench.pid).children(recursive=True)
        bench.kill()
        bench.wait()
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, [(_name(p), p.pid) for p in alive]
    finally:
        bench.kill()
        bench.wait()
    # The same cache: the next packed bench builds the kernels and finishes.
    done = subprocess.run(_bench(tmp_path, "after", env), env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=BUILD_BOUND_S)
    assert done.returncode == 0, done.stderr
    with (tmp_path / "after" / "results.csv").open() as fh:
        runtimes = {r["runtime"] for r in csv.DictReader(fh)}
    assert runtimes == {"packed-native"}
