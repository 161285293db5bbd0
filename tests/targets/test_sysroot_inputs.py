"""Hostile sysfs/procfs trees and tool output: `targets --json` stays strict JSON, a
non-finite reading is null with a reason, a FIFO never hangs it, bad bytes are replaced."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from beexbench.cli.main import main
from beexbench.targets.probe import finite
from beexbench.targets.sysroot import read_number, read_text, run_command
from beexbench.targets.vcgencmd import parse_pmic


def _tree(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / "sysroots" / name, root)
    return root


def _targets_json(sysroot, capsys, root: Path) -> dict[str, dict]:
    sysroot(root)
    assert main(["targets", "--json"]) == 0
    text = capsys.readouterr().out
    rows = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in targets --json"))
    json.dumps(rows, allow_nan=False)
    return {row["name"]: row for row in rows}


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e999", "NaN"])
def test_non_finite_thermal_and_rail_readings_are_null_with_a_reason(
        tmp_path: Path, sysroot, capsys, bad: str) -> None:
    root = _tree(tmp_path, "jetson-orin")
    (root / "sys/class/thermal/thermal_zone0/temp").write_text(bad + "\n")
    (root / "sys/class/hwmon/hwmon1/curr1_input").write_text(bad + "\n")
    (root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq").write_text(bad + "\n")
    state = _targets_json(sysroot, capsys, root)["arm"]["machine_state"]
    zone0 = next(z for z in state["thermal_zones"] if z["zone"] == "thermal_zone0")
    assert zone0["temp_c"] is None and "not a finite number" in zone0["temp_c_reason"]
    assert state["power"] is None and "not a finite number" in state["power_reason"]
    assert state["cur_freq_mhz"] is None and "not a finite number" in state["cur_freq_mhz_reason"]


def _targets_subprocess(root: Path) -> dict[str, dict]:
    env = {**os.environ, "BEEXBENCH_SYSROOT": str(root)}
    done = subprocess.run([sys.executable, "-m", "beexbench", "targets", "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)}


def test_a_fifo_in_sysfs_does_not_hang_targets(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-orin")
    (root / "sys/class/thermal/thermal_zone1/temp").unlink()
    os.mkfifo(root / "sys/class/thermal/thermal_zone1/temp")
    zones = _targets_subprocess(root)["arm"]["machine_state"]["thermal_zones"]
    zone1 = next(z for z in zones if z["zone"] == "thermal_zone1")
    assert zone1["temp_c"] is None and "not a regular file" in zone1["temp_c_reason"]


def test_a_fifo_in_procfs_does_not_hang_targets(tmp_path: Path) -> None:
    root = _tree(tmp_path, "jetson-orin")
    (root / "proc/cpuinfo").unlink()
    os.mkfifo(root / "proc/cpuinfo")
    arm = _targets_subprocess(root)["arm"]
    assert arm["name"] == "arm"


def test_read_text_refuses_non_regular_files_and_replaces_bad_bytes(sysroot, tmp_path: Path,
                                                                    monkeypatch) -> None:
    sysroot(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "bytes").write_bytes(b"caf\xe9\x00\n")
    assert "not a regular file" in read_text("/fifo").reason
    assert "not a regular file" in read_text("/dir").reason
    assert read_text("/bytes").value == "caf\ufffd"
    (tmp_path / "big").write_text("1e400")
    assert "not a finite number" in read_number("/big").reason
    (tmp_path / "scaled").write_text("1e300")
    assert "not a finite number" in read_number("/scaled", scale=1e300).reason


def _fake_tool(tmp_path: Path, name: str, output: bytes, status: int = 0) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / f"{name}.out").write_bytes(output)
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\ncat '{bin_dir / name}.out'\nexit {status}\n")
    script.chmod(0o755)


def test_non_utf8_vcgencmd_output_is_decoded_with_replacement(tmp_path: Path, monkeypatch,
                                                              sysroot, capsys) -> None:
    _fake_tool(tmp_path, "vcgencmd", b"throttled=0x0\xff\xfe\n VDD_CORE_A current(7)=\xff2A\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert "\ufffd" in run_command(["vcgencmd", "get_throttled"]).value
    state = _targets_json(sysroot, capsys, _tree(tmp_path, "rpi5"))["arm"]["machine_state"]
    assert state["throttled"] is None and "vcgencmd get_throttled" in state["throttled_reason"]
    assert state["power"] is None and "pmic_read_adc" in state["power_reason"]


def test_failing_tool_with_bad_bytes_gives_a_reason(tmp_path: Path, monkeypatch) -> None:
    _fake_tool(tmp_path, "vcgencmd", b"\xff\xfe broken\n", status=3)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    reason = run_command(["vcgencmd", "get_throttled"]).reason
    assert "exited with status 3" in reason and "\ufffd" in reason


def test_pmic_rails_with_overflowing_numbers_are_dropped() -> None:
    rails = parse_pmic(" VDD_CORE_A current(7)=1e999A\n VDD_CORE_V volt(15)=0.88V\n"
                       " DDR_A current(3)=0.5A\n DDR_V volt(4)=1.1V\n")
    assert [r.name for r in rails] == ["DDR"]


def test_finite_makes_non_finite_floats_null_with_a_reason() -> None:
    out = finite({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": float("-inf")},
                  "e": "x"})
    assert out["a"] is None and "nan" in out["a_reason"]
    assert out["b"] == [1.0, None] and out["c"]["d"] is None and out["e"] == "x"
    json.dumps(out, allow_nan=False)
