"""Shared fixtures: tiny presets, synthetic data, a checkpoint cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


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
    from harness.train import TrainRequest, train_model

    return train_model(TrainRequest("beexformer", "synthetic-2", "tiny"), quiet=True)
