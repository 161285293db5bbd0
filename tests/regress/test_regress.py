"""`beexbench regress` against baselines built from synthetic runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SYNTHETIC_RUN

from beexbench.cli import regress as regress_cmd
from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.regress.baseline import (
    DEFAULTS,
    build_baseline,
    classify,
    load_baseline,
    tolerance,
)
from beexbench.regress.compare import compare
from beexbench.results.rundir import load_run

synthetic_run = SYNTHETIC_RUN
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
    assert data["entries"]["beexformer/beex-entropy-drop/model_bytes/value"]["gate"] == "structural"
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


def test_structural_ratio_and_op_count_are_gated_exactly(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    for key in ("beexformer/beex-entropy-drop/size_ratio_vs_fp/value",
                "binarybert/final/ops_exit_3/value"):
        data = json.loads(baseline.read_text())
        data["entries"][key]["value"] *= 1 + 1e-9
        edited = baseline.with_name("edited.json")
        edited.write_text(json.dumps(data))
        assert regress("--baseline", str(edited), str(run)) == 1, key
        assert key in capsys.readouterr().out


def _exit_span(baseline: Path, model: str) -> float:
    entries = json.loads(baseline.read_text())["entries"]
    ops = [e["value"] for k, e in entries.items()
           if k.startswith(f"{model}/") and "/ops_exit_" in k]
    return max(ops) - min(ops)


def test_expected_ops_gated_by_a_share_of_the_exit_span(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    key = "fp-transformer-ee/pabee-patience/ops_expected/value"
    tol = DEFAULTS["exit_share_tol"]
    span = _exit_span(baseline, "fp-transformer-ee")
    _edit(baseline, key, lambda v: v - 0.9 * tol * span)  # the run: 0.9 of the tolerance more
    assert regress("--baseline", str(baseline), str(run)) == 0
    _edit(baseline, key, lambda v: v - 0.2 * tol * span)  # now 1.1 of it
    assert regress("--baseline", str(baseline), str(run)) == 1
    line = next(ln for ln in capsys.readouterr().out.splitlines() if key in ln)
    assert line.startswith("regressed (fails)") and "(worse)" in line and "exit span" in line


def test_flop_reduction_tolerance_is_the_share_in_percent_of_the_last_exit(run_and_baseline):
    run, baseline = run_and_baseline
    key = "fp-transformer-ee/pabee-patience/flop_reduction_pct/value"
    entries = json.loads(baseline.read_text())["entries"]
    ops = {int(k.split("/")[2].rsplit("_", 1)[1]): e["value"] for k, e in entries.items()
           if k.startswith("fp-transformer-ee/") and "/ops_exit_" in k}
    width = 100 * (max(ops.values()) - min(ops.values())) / ops[max(ops)]
    tol = DEFAULTS["exit_share_tol"] * width
    _edit(baseline, key, lambda v: v + 0.95 * tol)
    assert regress("--baseline", str(baseline), str(run)) == 0
    _edit(baseline, key, lambda v: v + 0.1 * tol)
    assert regress("--baseline", str(baseline), str(run)) == 1


def test_accuracy_tolerance(run_and_baseline, capsys):
    run, baseline = run_and_baseline
    key = "beexformer/beex-entropy-drop/acc_policy/value"
    tol = DEFAULTS["acc_abs_tol"]
    _edit(baseline, key, lambda v: v + 0.9 * tol)  # the run is 0.9 tol worse: passes
    assert regress("--baseline", str(baseline), str(run)) == 0
    _edit(baseline, key, lambda v: v + 0.2 * tol)  # now 1.1 tol worse
    assert regress("--baseline", str(baseline), str(run)) == 1
    assert "regressed (fails)" in capsys.readouterr().out
    assert regress("--baseline", str(baseline), str(run), "--acc-tol", str(2 * tol)) == 0
    # Far better is beyond drift as well: it reads as an improvement, and fails so that
    # the baseline is rebuilt with the change that caused it.
    _edit(baseline, key, lambda v: v - 5 - 2.2 * tol)
    assert regress("--baseline", str(baseline), str(run)) == 1
    line = next(ln for ln in capsys.readouterr().out.splitlines() if key in ln)
    assert line.startswith("improved (fails)") and "(better)" in line


@pytest.mark.parametrize("nudge", [5.0, -5.0])
def test_acc_final_nudged_by_five_points_fails(run_and_baseline, nudge):
    run, baseline = run_and_baseline
    _edit(baseline, "beexformer/beex-entropy-drop/acc_final/value", lambda v: v + nudge)
    assert regress("--baseline", str(baseline), str(run)) == 1


def test_a_faster_figure_reads_as_faster(tmp_path, capsys):
    base_run = write_run(tmp_path, seed=0, latency_scale=2.0)
    fast = write_run(tmp_path, seed=3)
    baseline = tmp_path / "baseline.json"
    regress("--baseline", str(baseline), str(base_run), "--update")
    capsys.readouterr()
    assert regress("--baseline", str(baseline), str(fast), "--gate-noisy") == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if "fp-transformer/final/latency_ms/p50" in ln)
    assert line.startswith("improved") and "better by x" in line and "worse" not in line


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
        "gate": "structural", "value": 1.0, "unit": "count"}
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


@pytest.mark.parametrize("metric,kind", [
    ("model_bytes", "structural"), ("bops_exit_2", "structural"),
    ("size_ratio_vs_fp", "structural"), ("params_binary", "structural"),
    ("ops_expected", "learned"), ("flop_reduction_pct", "learned"),
    ("sweep_ops_expected", "learned"), ("sweep_acc_policy", "learned"),
    ("acc_exit_1", "learned"), ("overthinking_wasteful_pct", "learned"),
    ("avg_exit_layer", "learned"), ("latency_ms", "noisy"),
    ("energy_j_per_sample", "noisy"), ("something_else", "info"),
])
def test_classify(metric, kind):
    assert classify(metric)[0] == kind


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
    ("{not json", "not valid JSON"),
    ('{"format": "something-else"}', "not a beexbench baseline"),
    ('{"format": "beexbench-baseline", "version": 2, "entries": {"a/b/c/d": '
     '{"gate": "structural"}}}', "field 'entries.a/b/c/d.value' is missing"),
    ('{"format": "beexbench-baseline", "version": 2, "entries": []}', "\"entries\" must be"),
    ('{"format": "beexbench-baseline", "version": 1, "entries": {}}', "unsupported version"),
    ('{"format": "beexbench-baseline", "version": true, "entries": {}}', "unsupported version"),
    ('{"format": "beexbench-baseline", "version": 2, "defaults": {"acc_abs_tol": NaN}, '
     '"entries": {}}', "NaN is not a number JSON allows"),
    ('{"format": "beexbench-baseline", "version": 2, "entries": {"a/b/c/d": '
     '{"gate": "learned", "value": 1.0}}}', "field 'entries.a/b/c/d.unit' is missing"),
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
    from beexbench.regress.compare import _mann_whitney_p

    rng = np.random.default_rng(0)
    base = list(rng.lognormal(0, 0.15, 200))
    assert _mann_whitney_p(base, [2 * v for v in base]) < 1e-10
    assert _mann_whitney_p(base, list(rng.lognormal(0, 0.15, 200))) > 0.002


def test_committed_baseline_catches_one_byte_and_five_points():
    """The committed baseline's own tolerances: 1 byte of any model_bytes and 5 points of
    any acc_final lie outside them, so nudged by that much it fails."""
    path = REPO / "results" / "baseline.json"
    data = load_baseline(str(path))
    defaults = {**DEFAULTS, **data["defaults"]}
    sized = accs = 0
    for key, entry in data["entries"].items():
        metric = key.split(";")[0].split("/")[2]
        if metric == "model_bytes":
            assert tolerance(metric, entry, defaults) * entry["value"] < 1, key
            sized += 1
        if metric == "acc_final":
            assert tolerance(metric, entry, defaults) < 5, key
            accs += 1
    assert sized >= 8 and accs >= 8


def test_a_policy_calibrated_elsewhere_is_reported_not_failed(tmp_path, synthetic_run):
    """Training drifts across CPUs and calibration may land on a neighbouring grid value:
    the figures under that policy describe another setting, so they are 'recalibrated',
    while everything else (the other policies, the policy-free figures) is gated."""
    from beexbench.regress.compare import failing

    base_run = synthetic_run.write_run(tmp_path / "a")
    moved_run = synthetic_run.write_run(tmp_path / "b",
                                        stop_at={("beexformer", "beex-entropy-drop"): 2})
    baseline = build_baseline(load_run(base_run))
    findings = compare(baseline, load_run(moved_run))
    mine = [f for f in findings if f.key.startswith("beexformer/beex-entropy-drop/")
            and f.kind in ("learned", "noisy") and "acc_exit_" not in f.key
            and "/acc_final/" not in f.key and "/acc_oracle/" not in f.key
            and "/overthinking" not in f.key and "/sweep_" not in f.key]
    assert mine and {f.status for f in mine} == {"recalibrated"}
    assert "calibrated to 0.3 here, 0.1 in the baseline" in mine[0].note
    assert failing(findings) == []
    # The same move without a change of constant is a regression.
    for key, entry in baseline["entries"].items():
        if "/policy_param/calibrated" in key:
            entry["value"] = 0.3
    assert failing(compare(baseline, load_run(moved_run)))
