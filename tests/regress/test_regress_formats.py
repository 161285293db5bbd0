"""`beexbench regress --format json|junit`: machine-readable findings, same exit status."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import SYNTHETIC_RUN

from beexbench.cli import regress as regress_cmd
from beexbench.cli.main import main
from beexbench.regress import formats

write_run = SYNTHETIC_RUN.write_run


@pytest.fixture
def run_and_baseline(tmp_path):
    run = write_run(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert main(["-q", "regress", "--baseline", str(baseline), str(run), "--update",
                 "--format", "json"]) == 0  # --update ignores --format
    assert json.loads(baseline.read_text())["entries"]
    return run, baseline


def _edit(baseline, key, change) -> None:
    data = json.loads(baseline.read_text())
    data["entries"][key]["value"] = change(data["entries"][key]["value"])
    baseline.write_text(json.dumps(data))


def _regress(capsys, run, baseline, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["regress", "--baseline", str(baseline), str(run), *extra])
    return code, capsys.readouterr().out


def test_the_cli_choices_are_the_renderers():
    assert regress_cmd.FORMATS == formats.FORMATS


@pytest.mark.parametrize("broken", [False, True])
def test_json_parses_and_ok_matches_the_exit_status(run_and_baseline, capsys, broken):
    run, baseline = run_and_baseline
    key = "binarybert/final/model_bytes/value"
    if broken:
        _edit(baseline, key, lambda v: v + 1)
    code, out = _regress(capsys, run, baseline, "--format", "json")
    data = json.loads(out)
    assert code == (1 if broken else 0)
    assert data["ok"] is (code == 0)
    assert data["findings"]
    for f in data["findings"]:
        assert set(f) == {"key", "kind", "status", "baseline", "current", "note", "fails"}
    failing = [f["key"] for f in data["findings"] if f["fails"]]
    assert failing == ([key] if broken else [])


def test_junit_has_a_testcase_per_finding_and_failures_for_failing_ones(run_and_baseline,
                                                                       capsys):
    run, baseline = run_and_baseline
    key = "binarybert/final/model_bytes/value"
    _edit(baseline, key, lambda v: v + 1)
    code, out = _regress(capsys, run, baseline, "--format", "junit")
    assert code == 1
    suite = ET.fromstring(out)  # the declaration included
    assert suite.tag == "testsuite" and suite.get("name") == "beexbench regress"
    cases = suite.findall("testcase")
    _, as_json = _regress(capsys, run, baseline, "--format", "json")
    findings = json.loads(as_json)["findings"]
    assert len(cases) == len(findings) == int(suite.get("tests"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == [key] and suite.get("failures") == "1"
    assert failed == [f["key"] for f in findings if f["fails"]]


def test_flagged_noisy_figures_are_skipped_unless_gated(tmp_path, capsys):
    base = write_run(tmp_path / "base", models=["beexformer"])
    slow = write_run(tmp_path / "slow", models=["beexformer"], latency_scale=2.0)
    baseline = tmp_path / "baseline.json"
    assert main(["-q", "regress", "--baseline", str(baseline), str(base), "--update"]) == 0
    code, out = _regress(capsys, slow, baseline, "--format", "junit")
    suite = ET.fromstring(out)
    skipped = [c.get("name") for c in suite.findall("testcase")
               if c.find("skipped") is not None]
    assert code == 0 and suite.get("failures") == "0"
    assert any("latency_ms/p50" in name for name in skipped)
    code, out = _regress(capsys, slow, baseline, "--format", "junit", "--gate-noisy")
    suite = ET.fromstring(out)
    failed = [c.get("name") for c in suite.findall("testcase")
              if c.find("failure") is not None]
    assert code == 1 and set(skipped) <= set(failed)
    assert not [c for c in suite.findall("testcase") if c.find("skipped") is not None]


def test_text_stays_the_default(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    code, out = _regress(capsys, run, baseline)
    assert code == 0 and "regress: OK" in out
