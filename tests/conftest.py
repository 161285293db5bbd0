"""Shared fixtures and helpers of every test folder (tests/README.md says where a test goes).

- paths: REPO, README, FIXTURES, SYSROOTS;
- one synthetic run: SYNTHETIC_RUN, the module that writes run directories without
  training (tests/fixtures/runs/synthetic_run.py), also as the `synthetic_run` fixture;
- one sysroot tree: the `sysroot` fixture points beexbench's machine readers at a fake
  tree (a name under tests/fixtures/sysroots, or any folder);
- one one-line-error check: `one_line(err)`, and `error_line(capsys)` that asserts it and
  returns the line;
- tiny presets, synthetic data and one checkpoint cache per test session.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FIXTURES = REPO / "tests" / "fixtures"
SYSROOTS = FIXTURES / "sysroots"


def _load_synthetic_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthetic_run",
                                                  FIXTURES / "runs" / "synthetic_run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYNTHETIC_RUN = _load_synthetic_run()


def one_line(err: str) -> bool:
    """What a refused command prints: exactly one line, and no traceback."""
    lines = err.strip().splitlines()
    return len(lines) == 1 and "Traceback" not in err


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused command printed to stderr (asserted to be one line)."""
    err = capsys.readouterr().err.strip()
    assert one_line(err), err
    return err


def native_or_skip():
    """The native packed kernels. Skipped only where no C++ compiler exists; where one
    does, a failed build fails the test (the feature should work there)."""
    import shutil

    from beexbench.runtimes.packed.kernels import get_backend

    backend = get_backend()
    if backend.engine is None:
        if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
            pytest.skip("no C++ compiler here: the native kernels cannot build")
        pytest.fail(f"the native packed kernels did not build here: {backend.detail}")
    return backend


@pytest.fixture
def sysroot(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | Path], Path]:
    """`sysroot(tree)`: beexbench reads /proc, /sys and the board's files from `tree`
    (a name under tests/fixtures/sysroots, or a folder) for the rest of the test."""

    def use(tree: str | Path) -> Path:
        root = tree if isinstance(tree, Path) else SYSROOTS / tree
        monkeypatch.setenv("BEEXBENCH_SYSROOT", str(root))
        return root

    return use


def quiet_snapshot(self=None):
    """A contention reading of an idle machine: no load, no steal, no preemption."""
    import time

    from beexbench.targets.contention import Snapshot

    return Snapshot(time.monotonic(), 0.0, 1, 1, 0, 1, 1, 0)


@pytest.fixture(autouse=True, scope="session")
def quiet_machine():
    """Timing verdicts in tests do not depend on how busy the test machine is: every
    in-process target reads an idle machine, unless a test patches a loaded one in
    (tests/measure/test_timing_validity.py does)."""
    from beexbench.targets.base import Target

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Target, "contention", quiet_snapshot)
        yield


@pytest.fixture(scope="session")
def codecarbon_cpu_watts() -> float:
    """The CPU power scale the installed codecarbon computes for this machine, by its own
    functions (the TDP table or per-thread rule, times sockets; its generic constant
    when it detects no model)."""
    from codecarbon.core.cpu import TDP
    from codecarbon.core.util import count_physical_cpus
    from codecarbon.external.hardware import POWER_CONSTANT

    tdp = TDP().tdp
    return float(POWER_CONSTANT) if tdp is None else float(tdp) * count_physical_cpus()


@pytest.fixture(scope="session")
def checkpoint_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("checkpoints")
    os.environ["BEEXBENCH_CHECKPOINTS"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(checkpoint_cache: Path):
    """beexformer trained on synthetic-2 with the tiny preset (seconds)."""
    from beexbench.train.loop import TrainRequest, train_model

    return train_model(TrainRequest("beexformer", "synthetic-2", "tiny"), quiet=True)


# Bench options that keep a tiny run to seconds.
BENCH_FAST = ["--dataset", "synthetic-2", "--preset", "tiny", "--warmup", "1",
              "--min-queries", "3", "--min-seconds", "0", "--batch-size", "16", "--threads", "1"]


@pytest.fixture(scope="session")
def run_all(tmp_path_factory: pytest.TempPathFactory, checkpoint_cache: Path) -> Path:
    """One tiny bench run over every registered model, shared by the tests that read it."""
    from beexbench.cli.main import main

    out = tmp_path_factory.mktemp("bench") / "run"
    assert main(["-q", "bench", "--target", "cpu", "--models", "all", "--out", str(out),
                 *BENCH_FAST]) == 0
    return out


@pytest.fixture(scope="session")
def synthetic_run() -> ModuleType:
    """The module that writes synthetic run directories (SYNTHETIC_RUN)."""
    return SYNTHETIC_RUN
