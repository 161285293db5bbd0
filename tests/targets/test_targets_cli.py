"""`beexbench targets [--json]` through beexbench.cli.main.main, on fake trees and on this host."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil

import pytest
import torch
from conftest import FIXTURES

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.targets.registry import get_target

# (volts, amps) of the rails in the recorded `vcgencmd pmic_read_adc` output
PI5_RAILS = [
    (3.74339, 0.00390372), (3.315136, 0.05172063), (1.80002, 0.1610366),
    (1.112618, 0.02049144), (0.6065994, 0.0), (1.106503, 0.1912813),
    (0.8026831, 0.3562367), (0.8808, 2.4115), (3.315136, 0.0004884),
    (3.310062, 0.0004884), (0.8026831, 0.0052458), (5.14324, 0.02049144),
]


def targets_json(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    assert main(["targets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    return {row["name"]: row for row in rows}


def test_jetson_tree_reports_model_rails_and_watts(sysroot, capsys):
    sysroot("jetson-orin")
    arm = targets_json(capsys)["arm"]
    assert arm["available"] and arm["device"] == "NVIDIA Jetson AGX Orin Developer Kit"
    assert (arm["energy_source"], arm["energy_estimated"]) == ("ina3221", False)
    power = arm["machine_state"]["power"]
    watts = {rail["name"]: rail["watts"] for rail in power["rails"]}
    assert watts == pytest.approx({"VDD_GPU_SOC": 3.177456, "VDD_CPU_CV": 0.79936,
                                   "VIN_SYS_5V0": 3.37144, "VDDQ_VDD2_1V8AO": 0.5024})
    assert power["total_watts"] == pytest.approx(sum(watts.values()))


def test_pi5_tree_reports_model_throttling_and_pmic_watts(sysroot, monkeypatch, capsys):
    sysroot("rpi5")
    monkeypatch.setenv("PATH", f"{FIXTURES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    arm = targets_json(capsys)["arm"]
    assert arm["device"] == "Raspberry Pi 5 Model B Rev 1.0"
    state = arm["machine_state"]
    assert state["throttled"]["raw"] == "0x50005"
    assert state["throttled"]["now"]["under_voltage"] and state["throttled"]["now"]["throttled"]
    assert not state["throttled"]["now"]["soft_temp_limit"]
    assert state["power"]["total_watts"] == pytest.approx(sum(v * a for v, a in PI5_RAILS))
    assert arm["energy_source"] == "rpi-pmic" and "USB" in arm["coverage"]


def _assert_sensor_coverage(arm: dict, source: str, *phrases: str) -> None:
    """A measured board figure says what its sensor covers and claims no model figure."""
    assert (arm["energy_source"], arm["energy_estimated"]) == (source, False)
    assert all(phrase in arm["coverage"] for phrase in phrases)
    assert "codecarbon" not in arm["coverage"] and not re.search(r"\d W\b", arm["coverage"])


def _assert_codecarbon_coverage(arm: dict, watts: float) -> None:
    assert arm["energy_source"].startswith("codecarbon-") and arm["energy_estimated"] is True
    assert "no board power sensor" in arm["coverage"]
    assert f"CPU power scale {watts:g} W" in arm["coverage"]


def test_pi5_and_jetson_coverage_names_the_sensor(sysroot, monkeypatch, capsys):
    monkeypatch.setenv("PATH", f"{FIXTURES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    sysroot("rpi5")
    _assert_sensor_coverage(targets_json(capsys)["arm"], "rpi-pmic", "PMIC", "not covered")
    sysroot("jetson-orin")
    _assert_sensor_coverage(targets_json(capsys)["arm"], "ina3221", "INA3221",
                            "carrier board")


def test_pi5_without_vcgencmd_states_codecarbons_figure(sysroot, monkeypatch, capsys,
                                                         codecarbon_cpu_watts):
    monkeypatch.setenv("PATH", "")
    sysroot("rpi5")
    _assert_codecarbon_coverage(targets_json(capsys)["arm"], codecarbon_cpu_watts)


def test_jetson_without_rails_states_codecarbons_figure(sysroot, capsys, tmp_path,
                                                         codecarbon_cpu_watts):
    # the Jetson tree with its device tree and cpuinfo but no INA3221 in sysfs
    shutil.copytree(FIXTURES / "sysroots" / "jetson-orin" / "proc", tmp_path / "proc")
    sysroot(tmp_path)
    arm = targets_json(capsys)["arm"]
    assert arm["board"] == "jetson-orin"
    _assert_codecarbon_coverage(arm, codecarbon_cpu_watts)


def test_this_host(capsys):
    rows = targets_json(capsys)
    assert rows["cpu"]["available"] and rows["cpu"]["timing_source"] == "time.perf_counter"
    assert isinstance(rows["cpu"]["energy_estimated"], bool)
    assert rows["cuda"]["available"] == torch.cuda.is_available()
    is_arm = platform.machine().lower().startswith(("aarch64", "arm"))
    assert rows["arm"]["available"] == is_arm
    for name in ("cuda", "arm"):
        if not rows[name]["available"]:
            assert rows[name]["reason"] and rows[name]["machine_state"] == {}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has a CUDA device")
def test_get_cuda_here_is_a_usage_error():
    with pytest.raises(UsageError, match="target 'cuda' is not available: .*CUDA"):
        get_target("cuda")


def test_plain_table_is_readable(sysroot, capsys):
    sysroot("jetson-orin")
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "arm: available" in out and "ina3221 (measured)" in out
    assert "VDD_GPU_SOC 3.18 W" in out
    assert "cuda: " in out

