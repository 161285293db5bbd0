"""Shared fixtures: tiny presets, synthetic data, a checkpoint cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


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
