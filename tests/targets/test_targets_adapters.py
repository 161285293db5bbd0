"""The cpu and arm adapters against fake trees; the registry's lookups and errors."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import FIXTURES

from beexbench.core.errors import UsageError
from beexbench.targets.arm import ArmTarget
from beexbench.targets.codecarbon_meter import CodecarbonMeter
from beexbench.targets.cpu import CpuTarget
from beexbench.targets.registry import TARGETS, get_target
from beexbench.targets.sampler import SampledEnergyMeter


@pytest.fixture
def fake_vcgencmd(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", f"{FIXTURES / 'bin'}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_registry_has_every_target_and_rejects_unknown_names():
    assert {"cpu", "cuda", "arm"} <= set(TARGETS.names())
    with pytest.raises(UsageError, match="valid: .*cpu"):
        get_target("tpu")


def test_cpu_set_threads_records_torch_count(keep_threads):
    target = get_target("cpu")
    assert target.set_threads(1) == 1 == torch.get_num_threads()
    assert target.set_threads(None) == len(os.sched_getaffinity(0))
    assert target.machine_state()["threads"] == torch.get_num_threads()
    with pytest.raises(UsageError, match="at least 1"):
        target.set_threads(0)


def test_cpu_affinity_option():
    before = os.sched_getaffinity(0)
    first = min(before)
    try:
        target = CpuTarget(affinity=[first])
        assert target.machine_state()["affinity"] == [first]
        with pytest.raises(UsageError, match="cannot pin"):
            CpuTarget(affinity=[10_000])
    finally:
        os.sched_setaffinity(0, before)


def test_cpu_prepare_timer_and_no_peak_memory():
    target = get_target("cpu")
    model = target.prepare(torch.nn.Linear(4, 2).train())
    assert not model.training and next(model.parameters()).device.type == "cpu"
    timer = target.timer()
    timer.start()
    model(torch.ones(1, 4))
    assert timer.stop() > 0
    with pytest.raises(RuntimeError):
        timer.stop()
    assert target.peak_device_memory_mb() is None


def test_cpu_machine_state_from_x86_tree(sysroot):
    sysroot("x86")
    state = CpuTarget().machine_state()
    assert state["cpu_model"] == "12th Gen Intel(R) Core(TM) i7-12700"
    assert "avx2" in state["cpu_flags"] and "avx512f" not in state["cpu_flags"]
    assert (state["governor"], state["boost"], state["smt_active"]) == ("powersave", False, True)


def test_cpu_machine_state_from_empty_tree_guesses_nothing(sysroot):
    sysroot("empty")
    state = CpuTarget().machine_state()
    for key in ("cpu_model", "cpu_flags", "governor", "boost", "smt_active", "cur_freq_mhz"):
        assert state[key] is None, key
        assert state[f"{key}_reason"], key


def test_arm_unavailable_on_x86_and_empty_trees(sysroot):
    for name in ("x86", "empty"):
        sysroot(name)
        availability = ArmTarget().available()
        if availability.ok:  # an ARM host with an unreadable tree: the platform decides
            assert "platform.machine()" in availability.reason
        else:
            assert "not an ARM machine" in availability.reason


def test_arm_jetson_energy_from_ina3221(sysroot):
    sysroot("jetson-orin")
    target = get_target("arm")
    meter = target.energy_meter()
    assert isinstance(meter, SampledEnergyMeter) and meter.source == "ina3221"
    assert target.energy_meter() is meter
    meter.start()
    reading = meter.stop()
    # constant fake rails: energy is their summed power times the span
    watts = 19.984 * 0.159 + 19.984 * 0.040 + 5.032 * 0.670 + 5.024 * 0.100
    assert reading.joules == pytest.approx(watts * reading.seconds, rel=1e-6)
    assert (reading.source, reading.estimated) == ("ina3221", False)
    assert "carrier board" in target.describe()["coverage"]


def test_arm_pi5_energy_from_pmic(sysroot, fake_vcgencmd):
    sysroot("rpi5")
    target = ArmTarget(sample_hz=100)
    meter = target.energy_meter()
    assert isinstance(meter, SampledEnergyMeter) and meter.source == "rpi-pmic"
    state = target.machine_state()
    assert state["board"]["kind"] == "raspberry-pi-5"
    assert state["arm_simd"]["dotprod"] and state["cores"] == ["Cortex-A76"]
    meter.start()
    reading = meter.stop()
    assert reading.joules == pytest.approx(state["power"]["total_watts"] * reading.seconds,
                                           rel=1e-5)


def test_arm_pi4_falls_back_to_a_labelled_estimate(sysroot, fake_vcgencmd, monkeypatch,
                                                   codecarbon_cpu_watts):
    monkeypatch.setenv("VCGENCMD_BOARD", "pi4")
    sysroot("rpi4")
    target = get_target("arm")
    assert isinstance(target.energy_meter(), CodecarbonMeter)
    described = target.describe()
    assert described["energy_estimated"] is True
    # the figure codecarbon itself uses on this machine, not a constant of ours
    assert f"CPU power scale {codecarbon_cpu_watts:g} W" in described["coverage"]
    assert "not a measurement" in described["coverage"]
    state = target.machine_state()
    assert state["throttled"]["raw"] == "0x0"
    assert state["power"] is None and "PMIC" in state["power_reason"]


def test_arm_pi_without_vcgencmd_reports_why(sysroot, monkeypatch):
    monkeypatch.setenv("PATH", "")
    sysroot("rpi5")
    state = ArmTarget().machine_state()
    assert state["throttled"] is None and "vcgencmd not found" in state["throttled_reason"]
