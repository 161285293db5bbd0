"""`beexbench bench` end to end on synthetic data with the tiny preset."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BENCH_FAST, error_line

from beexbench.bench.predictions import read_predictions
from beexbench.cli.main import main
from beexbench.measure import catalog as M
from beexbench.models.registry import get_model_spec, model_names

FAST = BENCH_FAST

PER_MODEL = {"params_total", "params_binary", "model_bytes", "size_ratio_vs_fp",
             "compression_ratio"}
PER_POLICY = {"macs_expected", "flops_expected", "bops_expected", "ops_expected",
              "flop_reduction_pct", "latency_ms", "throughput_sps", "peak_rss_mb",
              "param_bytes_resident", "acc_final",
              "acc_policy", "acc_oracle", "acc_gain_from_exits_pts",
              "overthinking_destructive_pct", "overthinking_wasteful_pct", "avg_exit_layer",
              "timing_valid", "latency_queries", "latency_cv"}
# Energy is measured once per model and runtime, under its default policy.
PER_DEFAULT_POLICY = {"energy_j_per_sample", "idle_power_w"}


def read_rows(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


def _value(row: dict[str, str]) -> float:
    """A row's value; an empty one (no measurement, its note says why) is NaN."""
    return float(row["value"]) if row["value"] else float("nan")


def test_run_writes_every_file(run_all):
    for name in ("results.csv", "config.json", "environment.json"):
        assert (run_all / name).is_file()
    for model in model_names():
        assert (run_all / "predictions" / f"{model}.csv").is_file()
        assert (run_all / "artifacts" / f"{model}.safetensors").is_file()
    env = json.loads((run_all / "environment.json").read_text())
    assert env["torch"] and env["target"] == "cpu" and env["torch_threads"] >= 1


def test_every_metric_appears_for_every_model(run_all):
    rows = read_rows(run_all)
    assert rows[0].keys() >= {"run_id", "timestamp", "git_sha", "host", "target", "device",
                              "model", "preset", "dataset", "split", "policy", "batch_size",
                              "threads", "metric", "stat", "value", "unit", "source",
                              "estimated"}
    for model in model_names():
        spec = get_model_spec(model)
        mine = [r for r in rows if r["model"] == model]
        assert PER_MODEL <= {r["metric"] for r in mine}
        blocks = range(1, 4) if spec.config(_tiny()).exits == "all" else [3]
        for k in blocks:
            for m in ("macs", "flops", "bops", "ops", "acc"):
                assert f"{m}_exit_{k}" in {r["metric"] for r in mine}, (model, m, k)
        for policy in spec.policies:
            metrics = {r["metric"] for r in mine if r["policy"] == policy}
            assert PER_POLICY <= metrics, (model, policy, PER_POLICY - metrics)
            energy = PER_DEFAULT_POLICY & metrics
            assert energy == (PER_DEFAULT_POLICY if policy == spec.default_policy else set())
            stats = {r["stat"] for r in mine if r["policy"] == policy
                     and r["metric"] == "latency_ms"}
            assert stats == {"p50", "p90", "p99", "mean", "std"}


def _tiny():
    from beexbench.models.transformer import ModelConfig

    return ModelConfig(vocab_size=10, n_classes=2, d_model=32, heads=2, blocks=3, max_len=32)


def test_accuracy_figures_equal_those_recomputed_from_predictions(run_all):
    rows = read_rows(run_all)
    for model in model_names():
        spec = get_model_spec(model)
        for policy in spec.policies:
            suffix = "" if policy == spec.default_policy else f"__{policy}"
            table = read_predictions(run_all / "predictions" / f"{model}{suffix}.csv")
            recomputed = table.metrics()
            stored = {r["metric"]: _value(r) for r in rows
                      if r["model"] == model and r["policy"] == policy
                      and r["stat"] == "value"
                      and (r["metric"].startswith(("acc_", "overthinking_"))
                           or r["metric"] == "avg_exit_layer")}
            assert stored.keys() == recomputed.keys()
            for name, value in recomputed.items():
                assert stored[name] == pytest.approx(value, abs=1e-9), (model, policy, name)


def test_no_model_leaves_an_uncounted_op(run_all):
    # bench writes flops/<model>-unsupported.txt for any op fvcore could not count.
    assert not (run_all / "flops").exists()


def test_op_counts_are_those_count_gives(run_all, capsys):
    """bench on trained models and count on untrained ones share one code path."""
    rows = read_rows(run_all)
    assert main(["-q", "count", "--models", "all", "--preset", "tiny", "--json"]) == 0
    counted = {(r["model"], r["metric"]): r["value"] for r in json.loads(capsys.readouterr().out)}
    benched = {(r["model"], r["metric"]): _value(r) for r in rows
               if "_exit_" in r["metric"] and r["metric"].split("_")[0] in
               ("macs", "flops", "bops", "ops")}
    assert benched and benched == {k: v for k, v in counted.items() if k in benched}
    assert {k for k in counted if "_exit_" in k[1]} == set(benched)


def _mcnemar_from_predictions(table) -> float:
    """Exact McNemar p of policy against final exit, from a predictions file alone."""
    from scipy.stats import binomtest

    final = [p == y for p, y in zip(table.preds[-1], table.labels, strict=True)]
    policy = [p == y for p, y in zip(table.pred_policy, table.labels, strict=True)]
    b = sum(p and not f for p, f in zip(policy, final, strict=True))
    c = sum(f and not p for p, f in zip(policy, final, strict=True))
    return 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue


def test_intervals_and_mcnemar_recomputed_from_predictions(run_all):
    rows = read_rows(run_all)
    for model in ("beexformer", "fp-transformer-ee"):
        spec = get_model_spec(model)
        table = read_predictions(run_all / "predictions" / f"{model}.csv")
        mine = {(r["metric"], r["stat"]): _value(r) for r in rows
                if r["model"] == model and r["policy"] == spec.default_policy}
        for name in ("acc_final", "acc_policy", "acc_exit_1", "acc_gain_from_exits_pts",
                     "flop_reduction_pct"):
            low, high = mine[(name, "ci95_low")], mine[(name, "ci95_high")]
            assert low <= mine[(name, "value")] <= high, (model, name)
        assert mine[("acc_gain_from_exits_pts", "p_mcnemar")] == pytest.approx(
            _mcnemar_from_predictions(table), abs=1e-12)


def test_model_bytes_equal_artifact_sizes(run_all):
    for r in read_rows(run_all):
        if r["metric"] == "model_bytes":
            size = (run_all / "artifacts" / f"{r['model']}.safetensors").stat().st_size
            assert int(r["value"]) == size


def test_binary_models_are_smaller_and_energy_is_labelled(run_all):
    rows = read_rows(run_all)
    ratio = {r["model"]: _value(r) for r in rows if r["metric"] == "size_ratio_vs_fp"}
    assert ratio["fp-transformer"] == pytest.approx(1.0)
    assert ratio["beexformer"] > 5 and ratio["binarybert"] > 1.5
    energy = [r for r in rows if r["metric"] == "energy_j_per_sample"]
    # This machine has no power sensors: every energy figure must be an estimate.
    assert energy and all(r["estimated"] == "true" and r["source"].startswith("codecarbon")
                          for r in energy)
    # A figure is a number >= 0, or empty with the reason: never a negative net energy.
    assert all((r["value"] and float(r["value"]) >= 0) or "idle baseline" in r["note"]
               for r in energy)


def test_packed_artifact_gives_the_same_predictions(run_all, checkpoint_cache):
    import torch

    from beexbench.measure.evaluate import record_exits
    from beexbench.models.artifact import load_packed
    from beexbench.train.loop import TrainRequest, train_model

    for model in ("beexformer", "binarybert", "fp-transformer-ee"):
        ckpt = train_model(TrainRequest(model, "synthetic-2", "tiny"), quiet=True)
        name, packed = load_packed(run_all / "artifacts" / f"{model}.safetensors")
        assert name == model
        ids = torch.randint(1, 100, (64, 24))
        lengths = torch.full((64,), 24)
        a, b = record_exits(ckpt.model, ids, lengths), record_exits(packed, ids, lengths)
        assert torch.equal(a.preds, b.preds)


def test_existing_run_directory_without_resume_is_refused_and_kept(run_all, capsys):
    before = (run_all / "results.csv").read_bytes()
    assert main(["bench", "--target", "cpu", "--models", "fp-transformer", "--out",
                 str(run_all), *FAST]) == 2
    assert "already exists" in error_line(capsys)
    assert (run_all / "results.csv").read_bytes() == before


def test_unknown_and_unavailable_targets_exit_2(tmp_path, capsys):
    assert main(["bench", "--target", "tpu", "--out", str(tmp_path / "a"), *FAST]) == 2
    assert "unknown target 'tpu'; valid:" in error_line(capsys)
    assert main(["bench", "--target", "cuda", "--out", str(tmp_path / "b"), *FAST]) == 2
    assert "target 'cuda' is not available" in error_line(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert main(["bench", "--target", "cpu", "--out", str(blocker / "run"), *FAST]) == 2
    assert "--out" in error_line(capsys)
    assert blocker.read_text() == "keep me"


def _row_keys(run: Path) -> list[tuple]:
    keys = [(r["model"], r["policy"], r["metric"], r["stat"]) for r in read_rows(run)]
    assert len(keys) == len(set(keys)), "duplicated rows"
    return sorted(keys)


def test_sigkill_mid_run_then_resume_gives_the_same_rows(tmp_path, checkpoint_cache):
    models = "fp-transformer,beexformer,binarybert"
    argv = [sys.executable, "-m", "beexbench", "-q", "bench", "--target", "cpu", "--models",
            models, "--no-energy", *FAST]
    env = {**os.environ, "BEEXBENCH_CHECKPOINTS": str(checkpoint_cache)}
    whole = tmp_path / "whole"
    subprocess.run([*argv, "--out", str(whole)], env=env, check=True, capture_output=True)
    cut = tmp_path / "cut"
    proc = subprocess.Popen([*argv, "--out", str(cut)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (cut / "progress.json").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads((cut / "progress.json").read_text())["done"]
    assert 1 <= len(done) < 3, "the kill should land mid-run"
    assert {f"{r['model']}@seed-{r['seed']}" for r in read_rows(cut)} == set(done)
    subprocess.run([*argv, "--out", str(cut), "--resume"], env=env, check=True,
                   capture_output=True)
    assert _row_keys(cut) == _row_keys(whole)
    assert not [p for p in cut.rglob("*") if p.name.endswith(".tmp")]
    assert not (cut / "run.lock").exists()


def test_packed_runtime_rows_are_labelled_and_accuracy_is_unchanged(run_all, tmp_path):
    out = tmp_path / "packed"
    models = "beexformer,beexformer-a1,binarybert"
    assert main(["-q", "bench", "--target", "cpu", "--models", models, "--out", str(out),
                 "--runtime", "packed", "--no-energy", *FAST]) == 0
    packed = read_rows(out)
    assert {r["runtime"] for r in packed} <= {"packed-native", "packed-fallback"}
    assert all(M.require(r["metric"], r["stat"]).unit_of(r["stat"]) == r["unit"] for r in packed)
    fake = {(r["model"], r["policy"], r["metric"], r["stat"]): r["value"]
            for r in read_rows(run_all) if r["runtime"] == "fake-quant"}
    accuracy = [r for r in packed if r["metric"].startswith("acc_")]
    assert accuracy
    # fixed depths are timed on the deployment paths only (not on fake-quant)
    static = [r for r in accuracy if r["policy"].startswith("fixed-depth-")]
    assert static
    for r in static:
        k = r["policy"].rsplit("-", 1)[1]
        default = get_model_spec(r["model"]).default_policy
        if r["metric"] == "acc_policy":
            assert float(r["value"]) == float(fake[(r["model"], default, f"acc_exit_{k}",
                                                    r["stat"])])
    for r in (r for r in accuracy if not r["policy"].startswith("fixed-depth-")):
        key = (r["model"], r["policy"], r["metric"], r["stat"])
        assert float(r["value"]) == float(fake[key])


def test_seeds_write_a_seed_column_per_seed_files_and_evidence(tmp_path, checkpoint_cache):
    out = tmp_path / "seeds"
    assert main(["-q", "bench", "--target", "cpu", "--models", "fp-transformer,beexformer",
                 "--seeds", "0,1", "--no-energy", "--out", str(out), *FAST]) == 0
    rows = read_rows(out)
    assert {r["seed"] for r in rows} == {"0", "1"}
    for seed in ("0", "1"):
        table = read_predictions(out / "predictions" / f"seed-{seed}" / "beexformer.csv")
        assert (out / "artifacts" / f"seed-{seed}" / "beexformer.safetensors").is_file()
        mine = {(r["metric"], r["stat"]): _value(r) for r in rows
                if r["model"] == "beexformer" and r["seed"] == seed}
        assert ("acc_policy", "ci95_low") in mine and ("acc_final", "ci95_high") in mine
        assert mine[("acc_gain_from_exits_pts", "p_mcnemar")] == pytest.approx(
            _mcnemar_from_predictions(table), abs=1e-12)
    # The report reads every seed: one summary row per model and seed.
    from beexbench.report.build import build_report

    files = build_report([out], tmp_path / "report")
    text = files.markdown.read_text()
    assert "## Across seeds" in text and "## Accuracy against fp-transformer" in text


@pytest.mark.parametrize("argv,why", [
    (["--seeds", "0,0"], "distinct"), (["--seeds", "a"], "integers"),
    (["--seeds", "-1"], "between 0 and 2147483647"), (["--seed", "1", "--seeds", "0"], "not both"),
])
def test_bad_seeds_exit_2(tmp_path, capsys, argv, why):
    assert main(["bench", "--target", "cpu", "--out", str(tmp_path / "r"), *argv, *FAST]) == 2
    assert why in error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_a_binary_model_is_timed_on_the_packed_engine_not_as_fake_quant(tmp_path,
                                                                       checkpoint_cache):
    """With packed in the run, beexformer's fake-quant rows hold accuracy and counts
    but no timing; with fake-quant alone, they are timed."""
    both = tmp_path / "both"
    assert main(["bench", "--target", "cpu", "--models", "beexformer", "--no-energy",
                 "--runtimes", "fake-quant,packed", "--out", str(both), *BENCH_FAST]) == 0
    rows = list(csv.DictReader((both / "results.csv").open()))
    fake = {r["metric"] for r in rows if r["runtime"] == "fake-quant"}
    packed = {r["metric"] for r in rows if r["runtime"].startswith("packed")}
    assert "acc_policy" in fake and "model_bytes" in fake
    assert "latency_ms" not in fake and "latency_ms" in packed
    alone = tmp_path / "alone"
    assert main(["bench", "--target", "cpu", "--models", "beexformer", "--no-energy",
                 "--out", str(alone), *BENCH_FAST]) == 0
    rows = list(csv.DictReader((alone / "results.csv").open()))
    assert "latency_ms" in {r["metric"] for r in rows}


def test_a_run_is_readable_by_others_as_the_umask_allows(tmp_path, checkpoint_cache):
    """Folders made private by mkdtemp (ONNX exports, artifacts) get the umask's mode when
    they are put in place, as files already do."""
    before = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert main(["-q", "bench", "--models", "fp-transformer", "--runtimes",
                     "fake-quant,ort", "--no-energy", "--out", str(out), *FAST]) == 0
    finally:
        os.umask(before)
    for path in [out, *out.rglob("*")]:
        if path.name == "run.lock" or path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
