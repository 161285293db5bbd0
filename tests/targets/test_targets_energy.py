"""Energy meters: the sampler's integration, its failure modes, and codecarbon's labels."""

from __future__ import annotations

import math
import time

import pytest

from beexbench.targets.base import EnergyUnavailable
from beexbench.targets.codecarbon_meter import CodecarbonMeter, classify
from beexbench.targets.codecarbon_power import explain
from beexbench.targets.sampler import PowerSampler, SampledEnergyMeter, trapezoid

PERIOD = 0.5


def test_trapezoid_exact_for_linear_power():
    samples = [(0.0, 1.0), (0.5, 2.0), (2.0, 5.0)]
    assert trapezoid(samples) == pytest.approx(0.75 + 5.25)


def test_sampler_integrates_a_known_curve():
    """P(t) = 5 + 2 sin(2 pi t / 0.5) W read by the real sampler thread over ~1 s."""
    t_ref = time.perf_counter()

    def power() -> float:
        t = time.perf_counter() - t_ref
        return 5.0 + 2.0 * math.sin(2 * math.pi * t / PERIOD)

    meter = SampledEnergyMeter(power, source="fake", hz=50.0)
    meter.start()
    time.sleep(1.05)
    reading = meter.stop()
    samples = meter.sampler.samples
    t0, t1 = samples[0][0] - t_ref, samples[-1][0] - t_ref
    # the exact integral between the first and the last sample's own timestamps
    exact = 5.0 * (t1 - t0) - 2.0 * PERIOD / (2 * math.pi) * (
        math.cos(2 * math.pi * t1 / PERIOD) - math.cos(2 * math.pi * t0 / PERIOD)
    )
    assert len(samples) >= 20
    assert reading.joules == pytest.approx(exact, rel=0.02)
    assert reading.seconds == pytest.approx(t1 - t0)
    assert (reading.source, reading.estimated) == ("fake", False)


def test_sampler_drops_failed_and_garbage_reads():
    values = iter([2.0, -1.0, float("nan"), "x", 2.0, OSError("gone")] + [2.0] * 1000)

    def power() -> float:
        value = next(values)
        if isinstance(value, Exception):
            raise value
        return float(value)

    sampler = PowerSampler(power, hz=200.0)
    sampler.start()
    time.sleep(0.1)
    samples = sampler.stop()
    assert sampler.failed_reads == 4  # -1 W, NaN, "x", OSError
    assert all(watts == 2.0 for _, watts in samples)


def test_silent_sensor_gives_no_reading():
    def broken() -> float:
        raise OSError("sensor gone")

    meter = SampledEnergyMeter(broken, source="fake", hz=100.0)
    meter.start()
    time.sleep(0.03)
    with pytest.raises(EnergyUnavailable, match="0 good power samples"):
        meter.stop()


def test_stop_before_start_is_a_bug():
    with pytest.raises(RuntimeError):
        SampledEnergyMeter(lambda: 1.0, source="fake").stop()
    with pytest.raises(ValueError):
        PowerSampler(lambda: 1.0, hz=0)


class CPU:  # stands in for codecarbon's hardware classes, which it tells apart by name
    def __init__(self, mode: str, tdp: int = 8, generic: bool = False) -> None:
        self._mode, self._tdp, self._is_generic_tdp = mode, tdp, generic


class RAM:
    pass


class Raspberry:
    def __init__(self, chip_part: str) -> None:
        self.chip_part = chip_part


@pytest.mark.parametrize(
    ("hardware", "source", "estimated", "scope"),
    [
        ([RAM(), CPU("intel_rapl")], "rapl", False, "cpu (RAPL"),
        ([RAM(), CPU("cpu_load")], "codecarbon-cpu_load", True, "cpu+ram"),
        ([RAM(), CPU("constant", 85, True)], "codecarbon-tdp", True, "cpu+ram"),
        ([Raspberry("RAM"), Raspberry("CPU")], "codecarbon-rpi-pmic", False, "cpu+ram"),
        ([RAM()], "codecarbon-unknown", True, "unknown"),
    ],
)
def test_codecarbon_choice_is_labelled(hardware, source, estimated, scope):
    info = classify(hardware)
    assert (info["source"], info["estimated"]) == (source, estimated)
    assert info["scope"].startswith(scope)


def test_generic_tdp_is_called_out():
    info = classify([RAM(), CPU("cpu_load", 85, True)])
    assert info["generic_tdp"] and "generic constant" in info["model"]
    assert info["cpu_power_basis"] == "generic"


def _codecarbon_table() -> dict[str, str]:
    """codecarbon's CPU TDP table as it ships (a few of its TDP cells are not numbers)."""
    from codecarbon.input import DataSource

    table = DataSource().get_cpu_power_data()
    return dict(zip(table["Name"], table["TDP"].astype(str), strict=True))


@pytest.mark.parametrize("model", ["Cortex-A72", "Cortex-A76"])
def test_known_arm_cores_take_codecarbons_table_tdp(model):
    """The boards' cores as codecarbon's own table prices them (read from its CSV)."""
    watts = float(_codecarbon_table()[model])
    power = explain(model, watts, generic=False, threads=4)
    assert power.basis == "tdp-table" and f"{watts:g} W" in power.text and model in power.text


def test_unknown_core_is_priced_per_thread_by_codecarbons_constant():
    from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE

    model = "Cortex-A78AE"  # Jetson Orin's core: not in codecarbon 3.3.2's table
    assert model not in _codecarbon_table()
    power = explain(model, DEFAULT_POWER_PER_CORE * 12.0, generic=False, threads=12)
    assert power.basis == "per-thread"
    assert f"{DEFAULT_POWER_PER_CORE:g} W per thread x 12 threads" in power.text
    assert power.text.startswith(f"{DEFAULT_POWER_PER_CORE * 12:g} W")


def test_undetected_model_is_codecarbons_generic_constant():
    from codecarbon.external.hardware import POWER_CONSTANT

    power = explain("Unknown", float(POWER_CONSTANT), generic=True, threads=4)
    assert power.basis == "generic" and power.text.startswith(f"{POWER_CONSTANT:g} W")


def test_meter_states_the_figure_codecarbon_computes_here(codecarbon_cpu_watts):
    info = CodecarbonMeter().describe()
    if not info["estimated"]:
        pytest.skip("codecarbon measures this CPU (RAPL): no model figure to state")
    assert info["cpu_power_w"] == pytest.approx(codecarbon_cpu_watts)
    assert f"CPU power scale {codecarbon_cpu_watts:g} W" in info["model"]


def test_codecarbon_meter_spans_reuse_one_tracker(capfd):
    meter = CodecarbonMeter()
    readings = []
    for _ in range(2):
        meter.start()
        time.sleep(0.2)
        readings.append(meter.stop())
    info = meter.describe()
    for reading in readings:
        assert reading.joules > 0 and reading.seconds > 0
        assert (reading.source, reading.estimated) == (info["source"], info["estimated"])
    assert meter._tracker is not None
    out, err = capfd.readouterr()
    assert "codecarbon" not in out + err  # its INFO/WARNING lines are silenced
