"""Shared fixtures: tiny presets, synthetic data, a checkpoint cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


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
def synthetic_run():
    """The fixture module that writes synthetic run directories (tests/fixtures/runs)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "synthetic_run", Path(__file__).parent / "fixtures" / "runs" / "synthetic_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
