"""The ONNX Runtime runtimes: bench rows per (model, runtime), eager-equal fp32 exits,
speed ratios against fp-transformer's fastest runtime, and the errors."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
from pathlib import Path

import pytest
import torch
from conftest import BENCH_FAST, error_line

from beexbench.bench.predictions import encode_split, predict, read_predictions
from beexbench.cli.main import main
from beexbench.data.registry import load_dataset
from beexbench.measure import catalog as M
from beexbench.measure.evaluate import record_exits
from beexbench.models.exits import make_policy
from beexbench.models.registry import get_model_spec
from beexbench.report.build import build_report
from beexbench.results.rundir import load_run
from beexbench.results.summary import BEST_FP_RUNTIME, BEST_SPEEDUP, FP_MODEL, build_summary
from beexbench.runtimes.registry import get_runtime
from beexbench.train.loop import TrainRequest, train_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from beexbench.runtimes.onnx.runtime import OrtRuntime  # noqa: E402

MODELS = ("fp-transformer", "fp-transformer-ee", "beexformer-a1")
FP_MODELS = ("fp-transformer", "fp-transformer-ee")
ONNX = ("ort", "ort-int8")


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ort_run(tmp_path_factory: pytest.TempPathFactory, checkpoint_cache: Path
            ) -> tuple[Path, str]:
    """One tiny run under packed, ort and ort-int8, with its progress output."""
    out = tmp_path_factory.mktemp("ort") / "run"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["bench", "--target", "cpu", "--runtimes", "packed,ort,ort-int8",
                     "--models", ",".join(MODELS), "--out", str(out), "--no-energy",
                     *BENCH_FAST]) == 0
    return out, err.getvalue()


def _eager(model: str):
    ckpt = train_model(TrainRequest(model, "synthetic-2", "tiny"), quiet=True)
    return ckpt, encode_split(ckpt, load_dataset("synthetic-2"), "test")


def test_rows_for_every_applicable_model_and_runtime(ort_run):
    run, progress = ort_run
    rows = _rows(run)
    packed = get_runtime("packed").label()
    expected = {(m, r) for m in FP_MODELS for r in (packed, *ONNX)} | {("beexformer-a1", packed)}
    assert {(r["model"], r["runtime"]) for r in rows} == expected
    for model, runtime in expected:
        mine = {r["metric"] for r in rows if (r["model"], r["runtime"]) == (model, runtime)}
        assert {M.MODEL_BYTES.name, M.ACC_POLICY.name, M.LATENCY_MS.name,
                M.CPU_TIME_MS.name, M.OPS_EXPECTED.name} <= mine, (model, runtime)
    skipped = [line for line in progress.splitlines() if "skipped" in line]
    assert skipped == ["[beexformer-a1] runtime ort skipped: ort runs full-precision models only",
                       "[beexformer-a1] runtime ort-int8 skipped: "
                       "ort-int8 runs full-precision models only"]


def test_model_bytes_under_ort_are_the_onnx_files(ort_run):
    run, _ = ort_run
    for r in _rows(run):
        if r["metric"] == M.MODEL_BYTES.name and r["runtime"] in ONNX:
            files = sorted((run / "artifacts" / f"{r['model']}.{r['runtime']}").glob("*.onnx"))
            assert files and int(r["value"]) == sum(f.stat().st_size for f in files)
    ee = run / "artifacts" / "fp-transformer-ee.ort"
    assert sorted(p.name for p in ee.glob("*.onnx")) == ["exit_1.onnx", "exit_2.onnx",
                                                         "exit_3.onnx"]


def test_fp_transformer_under_ort_gives_the_eager_predictions(ort_run):
    run, _ = ort_run
    ckpt, split = _eager("fp-transformer")
    eager = predict(ckpt, split, make_policy("final"))
    onnx = read_predictions(run / "predictions" / "ort" / "fp-transformer.csv")
    assert onnx.sample_ids == eager.sample_ids
    assert onnx.preds == eager.preds and onnx.pred_policy == eager.pred_policy
    # And at batch 1, each sample at its own length: the latency loop's queries.
    runtime = OrtRuntime(run / "artifacts" / "fp-transformer.ort", threads=1)
    policy = make_policy("final")
    for i in range(len(split.sample_ids)):
        one = split.ids[i:i + 1, :int(split.lengths[i])]
        a, b = ckpt.model.infer(one, policy), runtime.infer(one, policy)
        assert torch.equal(a.logits.argmax(-1), b.logits.argmax(-1))
        assert torch.allclose(a.logits, b.logits, atol=1e-4)


def test_fp_transformer_ee_under_ort_exits_where_eager_does(ort_run):
    run, _ = ort_run
    ckpt, split = _eager("fp-transformer-ee")
    spec = get_model_spec("fp-transformer-ee")
    runtime = OrtRuntime(run / "artifacts" / "fp-transformer-ee.ort", threads=1)
    record = record_exits(ckpt.model, split.ids, split.lengths)
    for name in spec.policies:
        policy = make_policy(name, ckpt.policy_param(name))
        suffix = "" if name == spec.default_policy else f"__{name}"
        eager = predict(ckpt, split, policy, record)
        onnx = read_predictions(run / "predictions" / "ort" / f"fp-transformer-ee{suffix}.csv")
        assert onnx.exit_layer == eager.exit_layer, name
        assert onnx.pred_policy == eager.pred_policy, name
        singles = [split.ids[i:i + 1, :int(split.lengths[i])]
                   for i in range(len(split.sample_ids))]
        a = [ckpt.model.infer(one, policy) for one in singles]
        b = [runtime.infer(one, policy) for one in singles]
        assert [int(x.exit_layer) for x in a] == [int(x.exit_layer) for x in b], name
        assert [int(x.used_exit) for x in a] == [int(x.used_exit) for x in b], name
        # The lean loop the latency figures time: the same exits and predictions.
        prepare, query = runtime.lean(policy)
        lean = [query(prepare(one)) for one in singles]
        assert [int(x.exit_layer) for x in a] == [blk for _, blk, _ in lean], name
        assert [int(x.used_exit) for x in a] == [used for _, _, used in lean], name
        assert [int(x.logits.argmax(-1)) for x in a] == [int(lg.argmax(-1)[0])
                                                         for lg, _, _ in lean], name
        # A padded batch, where samples leave at different exits.
        batched_a = ckpt.model.infer(split.ids[:32], policy)
        batched_b = runtime.infer(split.ids[:32], policy)
        assert torch.equal(batched_a.exit_layer, batched_b.exit_layer), name
        assert torch.equal(batched_a.logits.argmax(-1), batched_b.logits.argmax(-1)), name


def test_int8_accuracy_is_measured(ort_run):
    run, _ = ort_run
    acc = {(r["model"], r["policy"]) for r in _rows(run)
           if r["runtime"] == "ort-int8" and r["metric"] == M.ACC_POLICY.name}
    assert ("fp-transformer", "final") in acc
    ee = {p for m, p in acc if m == "fp-transformer-ee"}
    static = {p for p in ee if p.startswith("fixed-depth-")}
    # Every calibrated policy, and the fixed-depth baselines set beside them.
    assert ee - static == set(get_model_spec("fp-transformer-ee").policies)
    assert static


def test_speed_ratios_name_fp_transformers_fastest_runtime(ort_run):
    run, _ = ort_run
    summary = build_summary(load_run(run).results)
    fp = summary[summary["model"] == FP_MODEL].set_index("runtime")["latency_p50_ms"]
    best = fp.astype(float).idxmin()
    assert set(summary[BEST_FP_RUNTIME]) == {best}
    expected = float(fp[best]) / summary["latency_p50_ms"].astype(float)
    assert summary[BEST_SPEEDUP].tolist() == pytest.approx(expected.tolist())
    assert summary.loc[summary["model"] == FP_MODEL, "p50_speedup_vs_fp"].tolist() == [1.0] * 3


def test_report_compares_binarization_with_early_exit(ort_run, tmp_path):
    run, _ = ort_run
    files = build_report([run], tmp_path / "report")
    text = files.markdown.read_text()
    section = text.split("## Binarization vs early exit", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| beexformer-a1")
             or line.startswith("| cpu | beexformer-a1")]
    # Its calibrated policy once, and the fixed depths both models were truncated at.
    policies = [line.split(" | ")[2] for line in lines]
    assert policies.count("beex-entropy-drop") == 1
    assert all(p == "beex-entropy-drop" or p.startswith("fixed-depth-") for p in policies)


def test_unknown_runtime_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["bench", "--runtimes", "packed,tflite", "--out", str(tmp_path / "a"),
                 *BENCH_FAST]) == 2
    assert "unknown runtime 'tflite'; valid: fake-quant, packed, ort, ort-int8" in \
        error_line(capsys)
    assert not (tmp_path / "a").exists()


def test_missing_onnxruntime_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert main(["bench", "--runtimes", "ort", "--models", "fp-transformer",
                 "--out", str(tmp_path / "a"), *BENCH_FAST]) == 2
    assert "needs onnxruntime, not installed: pip install 'beexbench[ort]'" in error_line(capsys)
    assert not (tmp_path / "a").exists()


def test_no_model_under_the_runtimes_is_exit_2(tmp_path, capsys):
    assert main(["-q", "bench", "--runtimes", "ort", "--models", "beexformer-a1",
                 "--out", str(tmp_path / "a"), *BENCH_FAST]) == 2
    assert "no model of --models runs under --runtimes ort" in error_line(capsys)
