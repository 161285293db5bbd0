"""The cuda target on a real GPU (skipped on machines without one)."""

from __future__ import annotations

import time

import pytest
import torch

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.fixture
def target():
    from beexbench.targets.registry import get_target

    return get_target("cuda")


@pytest.fixture
def model(target):
    net = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 2))
    return target.prepare(net)


def test_cuda_timer_and_peak_memory(target, model):
    x = torch.randn(64, 512, device=target.device())
    target.reset_peak_memory()
    timer = target.timer()
    with torch.no_grad():
        model(x)  # warm-up: kernels load lazily
        timer.start()
        for _ in range(10):
            model(x)
        seconds = timer.stop()
    assert seconds > 0
    assert target.peak_device_memory_mb() > 0


def test_nvml_energy_over_a_second(target, model):
    pytest.importorskip("pynvml")
    x = torch.randn(256, 512, device=target.device())
    meter = target.energy_meter()
    meter.start()
    start = time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - start < 1.2:  # the counter updates every 10-100 ms
            model(x)
            target.synchronize()
    reading = meter.stop()
    assert reading.joules > 0
    assert reading.source in ("nvml", "nvml-power") and reading.estimated is False


def test_gpu_machine_state(target):
    pytest.importorskip("pynvml")
    state = target.machine_state()
    assert isinstance(state["gpu_name"], str) and state["gpu_name"]
    assert isinstance(state["throttle_reasons"], list) or state["throttle_reasons_reason"]
    described = target.describe()
    assert described["device"] and described["timing_source"] == "cuda-events"
