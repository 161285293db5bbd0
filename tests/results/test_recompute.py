"""Every derived figure of a run can be recomputed from its files: expected ops and the
FLOP reduction from predictions/*.csv and the per-exit op rows, latency percentiles from
samples/*.csv; and a degenerate policy is named as such in summary.csv and report.md."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from beexbench.measure import catalog as M
from beexbench.report.build import build_report
from beexbench.results.rundir import load_run
from beexbench.results.summary import DEGENERATE, build_summary


def _value(rows: pd.DataFrame, model: str, policy: str, runtime: str, metric: str,
           stat: str = "value") -> float:
    hit = rows[(rows["model"] == model) & (rows["policy"] == policy)
               & (rows["runtime"].str.split("+").str[0] == runtime)
               & (rows["metric"] == metric) & (rows["stat"] == stat)]
    assert len(hit) == 1, (model, policy, runtime, metric, stat, len(hit))
    return float(hit["value"].iloc[0])


def test_expected_ops_and_flop_reduction_follow_from_predictions(run_all):
    run = load_run(run_all)
    rows = run.results
    checked = 0
    for model, policy, _seed, runtime, table in run.all_predictions():
        policy = policy or run.default_policy(model)
        default = run.default_policy(model)
        ops = rows[(rows["model"] == model) & (rows["policy"] == default)
                   & rows["metric"].str.match(r"^ops_exit_\d+$")]
        per_exit = {M.exit_block(m): float(v) for m, v in zip(ops["metric"], ops["value"],
                                                              strict=True)}
        shares = table["exit_layer"].astype(int).value_counts(normalize=True)
        expected = sum(share * per_exit[k] for k, share in shares.items())
        last = per_exit[max(per_exit)]
        assert math.isclose(_value(rows, model, policy, runtime, M.OPS_EXPECTED.name),
                            expected, rel_tol=1e-9)
        assert math.isclose(_value(rows, model, policy, runtime, M.FLOP_REDUCTION.name),
                            100.0 * (1.0 - expected / last), rel_tol=1e-9, abs_tol=1e-9)
        for k in per_exit:
            assert math.isclose(_value(rows, model, policy, runtime, M.EXIT_SHARE.at(k)),
                                100.0 * float(shares.get(k, 0.0)), abs_tol=1e-9)
        checked += 1
    assert checked >= 8


def test_latency_percentiles_follow_from_samples(run_all):
    run = load_run(run_all)
    rows = run.results
    checked = 0
    for model, _seed, runtime, samples in run.all_samples():
        for policy, group in samples.groupby("policy"):
            values = group["value"].astype(float).to_numpy()
            for stat, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                stored = _value(rows, model, str(policy), runtime, M.LATENCY_MS.name, stat)
                # samples are stored to 6 decimals (ms), the rows from the raw floats
                assert math.isclose(stored, float(np.percentile(values, q)), abs_tol=2e-6)
            assert _value(rows, model, str(policy), runtime, M.LATENCY_QUERIES.name) == \
                len(values)
            checked += 1
    assert checked >= 8


def test_a_policy_that_stops_everything_at_one_exit_acts_as_a_fixed_depth(synthetic_run,
                                                                         tmp_path):
    run = synthetic_run.write_run(tmp_path, stop_at={("beexformer", "beex-entropy-drop"): 2})
    summary = build_summary(load_run(run).results)
    flagged = summary[summary[DEGENERATE].fillna("") != ""]
    assert set(zip(flagged["model"], flagged["policy"], strict=True)) == {
        ("beexformer", "beex-entropy-drop")}
    flag = flagged[DEGENERATE].iloc[0]
    assert "acts as a fixed depth 2" in flag and "grid's edge" in flag
    written = pd.read_csv(build_report([run], tmp_path / "report").summary)
    assert "acts as a fixed depth 2" in " ".join(written[DEGENERATE].fillna("").astype(str))
    report = (tmp_path / "report" / "report.md").read_text()
    assert "`beexformer` under `beex-entropy-drop`" in report
    assert "acts as a fixed depth 2" in report


def test_a_policy_that_decides_per_sample_is_not_flagged(synthetic_run, tmp_path):
    run = synthetic_run.write_run(tmp_path)
    summary = build_summary(load_run(run).results)
    assert (summary[DEGENERATE].fillna("") == "").all()
