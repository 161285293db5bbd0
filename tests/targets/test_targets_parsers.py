"""Readers and parsers of the target adapters, against fake trees and recorded output."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from beexbench.targets import cpufreq, ina3221, thermal, vcgencmd
from beexbench.targets.base import EnergyUnavailable
from beexbench.targets.board import classify, detect_board
from beexbench.targets.cpuinfo import parse_cpuinfo, read_cpuinfo
from beexbench.targets.nvml import decode_throttle_reasons, energy_delta_j
from beexbench.targets.simd import arm_simd
from beexbench.targets.sysroot import glob, read_number, read_text

VCGENCMD = FIXTURES / "bin" / "vcgencmd"


def write(root: Path, path: str, text: str) -> None:
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)


# --- sysroot


def test_device_tree_string_loses_its_nul(sysroot):
    sysroot("rpi5")
    assert read_text("/proc/device-tree/model").value == "Raspberry Pi 5 Model B Rev 1.0"


def test_missing_and_garbage_files_give_reasons(sysroot, tmp_path):
    sysroot(tmp_path)
    write(tmp_path, "/sys/x/value", "banana\n")
    missing = read_text("/sys/nothing/here")
    assert missing.value is None and "/sys/nothing/here does not exist" in missing.reason
    garbage = read_number("/sys/x/value")
    assert garbage.value is None and "not a number" in garbage.reason


def test_glob_is_natural_order_and_logical(sysroot, tmp_path):
    sysroot(tmp_path)
    for n in (10, 2, 1):
        write(tmp_path, f"/sys/class/hwmon/hwmon{n}/name", "x")
    assert glob("/sys/class/hwmon/hwmon*") == [
        "/sys/class/hwmon/hwmon1", "/sys/class/hwmon/hwmon2", "/sys/class/hwmon/hwmon10",
    ]


# --- cpuinfo


def test_cpuinfo_x86(sysroot):
    sysroot("x86")
    info = read_cpuinfo().value
    assert info.model_name == "12th Gen Intel(R) Core(TM) i7-12700"
    assert {"avx2", "avx_vnni"} <= info.flags and "avx512f" not in info.flags
    assert not info.is_arm and info.processors == 2
    assert info.board_model is None  # x86 "model : 151" is a number, not a board


def test_cpuinfo_pi4_has_trailer_lines(sysroot):
    sysroot("rpi4")
    info = read_cpuinfo().value
    assert info.is_arm and info.cores == ("Cortex-A72",)
    assert info.hardware == "BCM2835"
    assert info.board_model == "Raspberry Pi 4 Model B Rev 1.4"
    assert arm_simd(info) == {"neon": True, "dotprod": False, "fp16": False, "i8mm": False,
                              "bf16": False, "sve": False, "sve2": False}


def test_cpuinfo_features_common_to_all_cores():
    text = (
        "processor\t: 0\nFeatures\t: fp asimd asimddp\nCPU implementer\t: 0x41\n"
        "CPU part\t: 0xd05\n\nprocessor\t: 1\nFeatures\t: fp asimd asimddp sve\n"
        "CPU implementer\t: 0x41\nCPU part\t: 0xd4f\n"
    )
    info = parse_cpuinfo(text)
    assert info.cores == ("Cortex-A55", "Neoverse-V2")
    assert arm_simd(info)["dotprod"] and not arm_simd(info)["sve"]


def test_cpuinfo_unreadable_or_garbage(sysroot, tmp_path):
    sysroot("empty")
    assert "does not exist" in read_cpuinfo().reason
    sysroot(tmp_path)
    write(tmp_path, "/proc/cpuinfo", "\x00\x01 nonsense without colons\n")
    assert read_cpuinfo().value is None


# --- cpufreq


def test_frequency_state_x86(sysroot):
    sysroot("x86")
    state = cpufreq.frequency_state()
    assert state["governor"] == "powersave"
    assert state["boost"] is False  # intel_pstate/no_turbo = 1
    assert state["smt_active"] is True
    assert state["cur_freq_mhz"] == [4700.0, 800.0]
    assert not any(key.endswith("_reason") for key in state)


def test_frequency_state_empty_tree_has_reasons(sysroot):
    sysroot("empty")
    state = cpufreq.frequency_state()
    for key in ("governor", "boost", "smt_active", "cur_freq_mhz"):
        assert state[key] is None and state[f"{key}_reason"]


def test_boost_from_cpufreq_and_garbage(sysroot, tmp_path):
    sysroot(tmp_path)
    write(tmp_path, "/sys/devices/system/cpu/cpufreq/boost", "1\n")
    assert cpufreq.boost_enabled().value is True
    write(tmp_path, "/sys/devices/system/cpu/intel_pstate/no_turbo", "maybe\n")
    probe = cpufreq.boost_enabled()
    assert probe.value is None and "'maybe'" in probe.reason


def test_garbage_frequency_is_not_reported(sysroot, tmp_path):
    sysroot(tmp_path)
    write(tmp_path, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "<unsupported>\n")
    probe = cpufreq.current_freqs_mhz()
    assert probe.value is None and "not a number" in probe.reason


# --- thermal


def test_thermal_zones_skip_offline_sensor(sysroot):
    sysroot("jetson-orin")
    zones = thermal.thermal_zones().value
    assert [z["type"] for z in zones] == ["cpu-thermal", "gpu-thermal", "cv0-thermal",
                                         "tj-thermal"]
    assert zones[0]["temp_c"] == 45.25
    assert zones[2]["temp_c"] is None and "offline" in zones[2]["temp_c_reason"]
    assert thermal.max_temperature(zones).value == 46.125


def test_thermal_garbage_and_missing(sysroot, tmp_path):
    sysroot(tmp_path)
    assert thermal.thermal_zones().value is None
    write(tmp_path, "/sys/class/thermal/thermal_zone0/temp", "N/A\n")
    zone = thermal.thermal_zones().value[0]
    assert zone["type"] is None and zone["temp_c"] is None and "not a number" in zone[
        "temp_c_reason"]
    assert thermal.max_temperature([zone]).value is None


# --- vcgencmd


@pytest.mark.parametrize(
    ("text", "now", "occurred"),
    [
        ("throttled=0x0\n", [], []),
        ("throttled=0x50005\n", ["under_voltage", "throttled"], ["under_voltage", "throttled"]),
        ("throttled=0x80008\n", ["soft_temp_limit"], ["soft_temp_limit"]),
        ("throttled=0xe0000\n", [], ["freq_capped", "throttled", "soft_temp_limit"]),
        ("throttled=0x2\n", ["freq_capped"], []),
    ],
)
def test_get_throttled_decoding(text, now, occurred):
    decoded = vcgencmd.decode_throttled(vcgencmd.parse_throttled(text))
    assert [k for k, v in decoded["now"].items() if v] == now
    assert [k for k, v in decoded["occurred"].items() if v] == occurred


@pytest.mark.parametrize(
    "text", ["", "throttled=\n", 'error=2 error_msg="Command not registered"']
)
def test_get_throttled_garbage(text):
    with pytest.raises(ValueError):
        vcgencmd.parse_throttled(text)


def test_pmic_recorded_output_pairs_rails_by_name():
    import subprocess

    text = subprocess.run([str(VCGENCMD), "pmic_read_adc"], capture_output=True, text=True,
                          check=True).stdout
    rails = {r.name: r for r in vcgencmd.parse_pmic(text)}
    assert len(rails) == 12 and "EXT5V" not in rails and "BATT" not in rails
    core = rails["VDD_CORE"]
    assert core.amps == pytest.approx(2.4115) and core.volts == pytest.approx(0.8808)
    assert core.watts == pytest.approx(2.4115 * 0.8808)


def test_pmic_garbled_and_unpaired_lines():
    text = (
        "  VDD_CORE_A current(7)=2.41150000A\n  VDD_CORE_V volt(15)=0.88080000V\n"
        "  HDMI_A current(22)=1.2.3A\n  HDMI_V volt(23)=5.14324000V\n"
        "  3V3_SYS_A current(1)=0.05A\n  garbage line\n"
    )
    rails = vcgencmd.parse_pmic(text)
    assert [r.name for r in rails] == ["VDD_CORE"]
    with pytest.raises(ValueError):
        vcgencmd.parse_pmic('error=2 error_msg="Command not registered"\n')


# --- INA3221


def test_ina3221_hwmon_rails(sysroot):
    sysroot("jetson-orin")
    rails = {r.name: r for r in ina3221.read_rails()}
    # "sum of shunt voltages" (no current) and NC channels are not rails
    assert list(rails) == ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"]
    assert rails["VDD_GPU_SOC"].watts == pytest.approx(19.984 * 0.159)
    total, rule = ina3221.total_watts(list(rails.values()))
    assert rule == "sum of rails"
    assert total == pytest.approx(sum(r.watts for r in rails.values()))


def test_ina3221_iio_layout_uses_module_input_rail(sysroot):
    sysroot("jetson-nano")
    rails = ina3221.read_rails()
    assert [r.name for r in rails] == ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]
    total, rule = ina3221.total_watts(rails)
    assert total == pytest.approx(2.345) and rule.startswith("POM_5V_IN")


def test_ina3221_missing_and_broken(sysroot, tmp_path):
    sysroot("rpi5")
    assert ina3221.power_state().value is None
    sysroot(tmp_path)
    hw = "/sys/class/hwmon/hwmon0"
    write(tmp_path, f"{hw}/name", "ina3221\n")
    write(tmp_path, f"{hw}/in1_label", "VDD_IN\n")
    write(tmp_path, f"{hw}/in1_input", "5080\n")
    write(tmp_path, f"{hw}/curr1_input", "garbage\n")
    with pytest.raises(OSError, match="not a number"):
        ina3221.read_rails()
    write(tmp_path, f"{hw}/curr1_input", "-300\n")
    with pytest.raises(OSError, match="VDD_IN"):
        ina3221.read_total_watts()


# --- boards


@pytest.mark.parametrize(
    ("model", "compat", "kind"),
    [
        ("Raspberry Pi 5 Model B Rev 1.0", ["brcm,bcm2712"], "raspberry-pi-5"),
        ("Raspberry Pi 4 Model B Rev 1.4", ["brcm,bcm2711"], "raspberry-pi-4"),
        ("Raspberry Pi Compute Module 4 Rev 1.0", [], "raspberry-pi-4"),
        ("NVIDIA Jetson Orin Nano Developer Kit", ["nvidia,tegra234"], "jetson-orin"),
        ("NVIDIA Jetson Xavier NX Developer Kit", ["nvidia,tegra194"], "jetson-xavier"),
        ("NVIDIA Jetson Nano Developer Kit", ["nvidia,tegra210"], "jetson-nano"),
        (None, ["nvidia,p3701-0000", "nvidia,tegra234"], "jetson-orin"),
    ],
)
def test_board_classification(model, compat, kind):
    assert classify(model, compat, None).kind == kind


def test_board_from_trees(sysroot):
    sysroot("jetson-orin")
    board = detect_board()
    assert (board.kind, board.soc) == ("jetson-orin", "nvidia,tegra234")
    sysroot("rpi4")
    assert detect_board().model == "Raspberry Pi 4 Model B Rev 1.4"


def test_generic_aarch64_from_cpuinfo_alone(sysroot, tmp_path):
    sysroot(tmp_path)
    write(tmp_path, "/proc/cpuinfo", "processor\t: 0\nFeatures\t: fp asimd\n"
          "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\n")
    board = detect_board()
    assert board.kind == "generic-aarch64" and board.model is None


# --- NVML helpers (no GPU needed)


def test_nvml_throttle_reasons_decoded():
    assert decode_throttle_reasons(0) == []
    assert decode_throttle_reasons(0x1) == ["gpu_idle"]
    assert decode_throttle_reasons(0x4 | 0x40) == ["sw_power_cap", "hw_thermal_slowdown"]
    assert decode_throttle_reasons(0x1000) == ["unknown_0x1000"]


def test_nvml_counter_going_backwards_is_an_error():
    assert energy_delta_j(1_000, 3_500) == pytest.approx(2.5)
    with pytest.raises(EnergyUnavailable, match="backwards"):
        energy_delta_j(5_000, 4_000)
