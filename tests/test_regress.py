"""`beexbench regress` against baselines built from synthetic runs."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.commands import regress as regress_cmd
from harness.errors import UsageError
from harness.regress.baseline import build_baseline, classify, load_baseline
from harness.regress.compare import compare
from harness.report.rundir import load_run

_spec = importlib.util.spec_from_file_location(
    "synthetic_run", Path(__file__).parent / "fixtures" / "runs" / "synthetic_run.py")
synthetic_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic_run)
write_run = synthetic_run.write_run


def regress(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    regress_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["regress", *argv])
    return regress_cmd.run(args)


@pytest.fixture
def run_and_baseline(tmp_path):
    run = write_run(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert regress("--baseline", str(baseline), str(run), "--update") == 0
    return run, baseline


def _edit(baseline: Path, key: str, change) -> None:
    data = json.loads(baseline.read_text())
    data["entries"][key]["value"] = change(data["entries"][key]["value"])
    baseline.write_text(json.dumps(data))


def test_passes_against_its_own_run(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    assert regress("--baseline", str(baseline), str(run), "--gate-noisy") == 0
    out = capsys.readouterr().out
    assert "regress: OK" in out
    data = load_baseline(str(baseline))
    assert data["entries"]["beexformer/beex-entropy-drop/model_bytes/value"]["kind"] == "exact"
    # Raw latency samples are kept for the Mann-Whitney test.
    entry = data["entries"]["beexformer/beex-entropy-drop/latency_ms/p50"]
    assert len(data["samples"][entry["samples"]]) == synthetic_run.N_LATENCY


def test_one_byte_of_model_bytes_fails(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    key = "binarybert/final/model_bytes/value"
    _edit(baseline, key, lambda v: v + 1)
    assert regress("--baseline", str(baseline), str(run)) == 1
    out = capsys.readouterr().out
    moved = [line for line in out.splitlines() if key in line]
    assert len(moved) == 1 and moved[0].startswith("changed (fails)")
    assert "FAIL: 1 regression" in out


def test_ops_expected_off_by_a_tenth_of_a_percent_fails(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    key = "fp-transformer-ee/pabee-patience/ops_expected/value"
    _edit(baseline, key, lambda v: v * 1.001)
    assert regress("--baseline", str(baseline), str(run)) == 1
    assert key in capsys.readouterr().out


def test_change_within_relative_tolerance_passes(run_and_baseline):
    run, baseline = run_and_baseline
    _edit(baseline, "beexformer/beex-entropy-drop/ops_expected/value", lambda v: v * (1 + 1e-8))
    assert regress("--baseline", str(baseline), str(run)) == 0


def test_accuracy_tolerance(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    key = "beexformer/beex-entropy-drop/acc_policy/value"
    _edit(baseline, key, lambda v: v + 0.9)  # the run is 0.9 pts worse: within 1.0
    assert regress("--baseline", str(baseline), str(run)) == 0
    _edit(baseline, key, lambda v: v + 0.2)  # now 1.1 pts worse
    assert regress("--baseline", str(baseline), str(run)) == 1
    assert "regressed (fails)" in capsys.readouterr().out
    assert regress("--baseline", str(baseline), str(run), "--acc-tol", "2") == 0
    _edit(baseline, key, lambda v: v - 5)  # the run is 3.9 pts better: reported, passes
    assert regress("--baseline", str(baseline), str(run)) == 0
    assert any(line.startswith("improved") and key in line
               for line in capsys.readouterr().out.splitlines())


def test_missing_metric_fails_and_new_metric_is_reported(tmp_path, capsys):
    full = write_run(tmp_path / "a")
    fewer = write_run(tmp_path / "b", models=["fp-transformer", "binarybert", "beexformer"],
                      run_id=full.name)
    baseline = tmp_path / "baseline.json"
    assert regress("--baseline", str(baseline), str(fewer), "--update") == 0
    assert regress("--baseline", str(baseline), str(full)) == 0
    assert "new" in capsys.readouterr().out
    assert regress("--baseline", str(baseline), str(fewer), "--update") == 0
    data = json.loads(baseline.read_text())
    data["entries"]["fp-transformer/final/flops_exit_99/value"] = {
        "kind": "exact", "value": 1.0, "unit": "count"}
    baseline.write_text(json.dumps(data))
    assert regress("--baseline", str(baseline), str(fewer)) == 1
    assert "missing (fails)" in capsys.readouterr().out


def test_latency_noise_from_one_distribution_is_not_flagged(tmp_path, capsys):
    base_run = write_run(tmp_path, seed=0)
    same = write_run(tmp_path, seed=7)
    baseline = tmp_path / "baseline.json"
    regress("--baseline", str(baseline), str(base_run), "--update")
    capsys.readouterr()
    assert regress("--baseline", str(baseline), str(same), "--gate-noisy") == 0
    out = capsys.readouterr().out
    assert "flagged" not in out and "latency_ms" not in out


def test_ratio_alone_does_not_flag_when_mann_whitney_disagrees(run_and_baseline):
    run, baseline = run_and_baseline
    data = load_baseline(str(baseline))
    key = "beexformer/beex-entropy-drop/latency_ms/p99"
    # Same samples, but the baseline's p99 figure 20 % lower: the ratio says "slower",
    # the samples say "same distribution", so nothing is flagged.
    data["entries"][key]["value"] /= 1.2
    findings = {f.key: f for f in compare(data, load_run(run))}
    assert findings[key].status == "ok"
    # Without raw samples on both sides, the ratio alone decides (asv's fallback).
    del data["entries"][key]["samples"]
    findings = {f.key: f for f in compare(data, load_run(run))}
    assert findings[key].status == "flagged"


def test_real_latency_shift_is_flagged_but_passes_unless_gated(tmp_path, capsys):
    base_run = write_run(tmp_path, seed=0)
    slow = write_run(tmp_path, seed=3, latency_scale=2.0)
    baseline = tmp_path / "baseline.json"
    regress("--baseline", str(baseline), str(base_run), "--update")
    capsys.readouterr()
    assert regress("--baseline", str(baseline), str(slow)) == 0
    out = capsys.readouterr().out
    flagged = [line for line in out.splitlines() if line.startswith("flagged")]
    assert any("beexformer/beex-entropy-drop/latency_ms/p50" in line and "Mann-Whitney" in line
               for line in flagged)
    assert all("(fails)" not in line for line in flagged)
    assert "regress: OK" in out
    assert regress("--baseline", str(baseline), str(slow), "--gate-noisy") == 1


def test_update_keeps_tolerances_and_leaves_no_temp_file(run_and_baseline):
    run, baseline = run_and_baseline
    data = json.loads(baseline.read_text())
    key = "beexformer/beex-entropy-drop/acc_policy/value"
    data["entries"][key]["abs_tol"] = 2.5
    data["defaults"]["noisy_factor"] = 1.5
    data["entries"][key]["value"] = 0.0
    baseline.write_text(json.dumps(data))
    assert regress("--baseline", str(baseline), str(run), "--update") == 0
    fresh = json.loads(baseline.read_text())
    assert fresh["entries"][key]["abs_tol"] == 2.5  # a per-entry override: kept
    assert fresh["entries"][key]["value"] > 0  # the run's figure, not the edited 0
    assert fresh["defaults"]["noisy_factor"] == 1.5
    assert "factor" not in fresh["entries"]["fp-transformer/final/latency_ms/p50"]
    # The override applies: 2 pts worse passes under abs_tol 2.5.
    _edit(baseline, key, lambda v: v + 2.0)
    assert regress("--baseline", str(baseline), str(run)) == 0
    assert sorted(p.name for p in baseline.parent.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("metric,stat,kind", [
    ("model_bytes", "value", "exact"), ("bops_exit_2", "value", "exact"),
    ("ops_expected", "value", "exact"), ("flop_reduction_pct", "value", "exact"),
    ("acc_exit_1", "value", "accuracy"), ("overthinking_wasteful_pct", "value", "accuracy"),
    ("latency_ms", "p99", "noisy"), ("latency_ms", "std", "noisy"),
    ("energy_j_per_sample", "net", "noisy"), ("something_else", "value", "info"),
])
def test_classify(metric, stat, kind):
    assert classify(metric, stat)[0] == kind


def test_keys_tell_runtimes_apart(tmp_path):
    run = write_run(tmp_path)
    text = (run / "results.csv").read_text().splitlines()
    extra = [line.replace("fake-quant", "packed-native") for line in text[1:]
             if ",beexformer," in line]
    (run / "results.csv").write_text("\n".join(text + extra) + "\n")
    entries = build_baseline(load_run(run))["entries"]
    assert "beexformer/beex-entropy-drop/model_bytes/value;runtime=packed-native" in entries
    assert "beexformer/beex-entropy-drop/model_bytes/value;runtime=fake-quant" in entries
    assert "fp-transformer/final/model_bytes/value" in entries


@pytest.mark.parametrize("content,why", [
    ("{not json", "malformed JSON"),
    ('{"format": "something-else"}', "not a beexbench baseline"),
    ('{"format": "beexbench-baseline", "version": 1, "entries": {"a/b/c/d": {"kind": "exact"}}}',
     "value must be a finite number"),
    ('{"format": "beexbench-baseline", "version": 1, "entries": []}', "\"entries\" must be"),
])
def test_malformed_baseline_is_one_line_exit_2(tmp_path, capsys, content, why):
    run = write_run(tmp_path, models=["fp-transformer"])
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    assert main(["regress", "--baseline", str(baseline), str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and why in err and str(baseline) in err


def test_bad_run_and_missing_baseline_exit_2(tmp_path, capsys):
    run = write_run(tmp_path, models=["fp-transformer"])
    cases = [
        (["--baseline", str(tmp_path / "none.json"), str(run)], "does not exist"),
        (["--baseline", str(tmp_path / "b.json"), str(tmp_path / "no-run")], "does not exist"),
        (["--baseline", str(tmp_path / "b.json"), str(tmp_path)], "no results.csv"),
        (["--baseline", str(run / "results.csv" / "b.json"), str(run), "--update"],
         "cannot write"),
    ]
    for argv, why in cases:
        assert main(["regress", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and why in err, err
    with pytest.raises(UsageError):
        regress("--baseline", str(tmp_path / "b.json"), str(run), "--acc-tol", "-1")


def test_mann_whitney_on_shifted_samples_is_significant():
    # Guards the threshold: 200 vs 200 samples, a 2x shift, p far below 0.002.
    from harness.regress.compare import _mann_whitney_p

    rng = np.random.default_rng(0)
    base = list(rng.lognormal(0, 0.15, 200))
    assert _mann_whitney_p(base, [2 * v for v in base]) < 1e-10
    assert _mann_whitney_p(base, list(rng.lognormal(0, 0.15, 200))) > 0.002
