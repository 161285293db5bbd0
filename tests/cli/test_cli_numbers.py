"""Numeric options out of range or not finite: one line naming the option, exit 2, before
any work and without writing anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import one_line

from beexbench.bench.config import BenchConfig
from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.measure.latency import LoopSettings
from beexbench.train.loop import TrainRequest

BENCH = ["bench", "--target", "cpu", "--models", "fp-transformer", "--dataset", "synthetic-2",
         "--preset", "tiny", "--no-energy"]


def _fails(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err)
    return err


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--min-seconds", "inf"], "--min-seconds"),
        (["--min-seconds", "nan"], "--min-seconds"),
        (["--min-seconds", "-1"], "--min-seconds"),
        (["--min-seconds", "1e9"], "--min-seconds"),
        (["--warmup", str(10**12)], "--warmup"),
        (["--warmup", "-1"], "--warmup"),
        (["--min-queries", "0"], "--min-queries"),
        (["--min-queries", str(10**30)], "--min-queries"),
        (["--batch-size", "0"], "--batch-size"),
        (["--threads", "1000000000"], "--threads"),
        (["--threads", "0"], "--threads"),
        (["--threads", "-4"], "--threads"),
        (["--seed", str(2**63 + 1)], "--seed"),
        (["--seed", str(2**64)], "--seed"),
        (["--seed", "-1"], "--seed"),
        (["--seeds", "1,1"], "--seeds"),
        (["--seeds", f"0,{2**63}"], "--seeds"),
        (["--seeds", "0,-1"], "--seeds"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_bench_numbers_out_of_range_are_one_line(tmp_path: Path, capsys, extra, option) -> None:
    out = tmp_path / "run"
    err = _fails([*BENCH, *extra, "--out", str(out)], capsys)
    assert f"error: {option} must" in err
    assert not out.exists()


@pytest.mark.parametrize("seed", [str(2**63 + 1), "-1", str(2**31)])
def test_train_seed_out_of_range_is_one_line(tmp_path: Path, capsys, monkeypatch,
                                             seed: str) -> None:
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path / "ck"))
    err = _fails(["train", "--model", "fp-transformer", "--dataset", "synthetic-2", "--preset",
                  "tiny", "--seed", seed], capsys)
    assert "--seed must be an integer between 0 and 2147483647" in err
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_regress_tolerances_must_be_finite(tmp_path: Path, capsys, value: str) -> None:
    err = _fails(["regress", str(tmp_path), "--baseline", str(tmp_path / "b.json"),
                  "--acc-tol", value], capsys)
    assert "--acc-tol must be a finite number" in err


def test_the_checks_live_in_the_config_dataclasses() -> None:
    with pytest.raises(UsageError, match="--min-seconds"):
        LoopSettings(warmup=1, min_queries=1, min_seconds=float("inf"))
    with pytest.raises(UsageError, match="--warmup"):
        LoopSettings(warmup=True, min_queries=1, min_seconds=1.0)
    with pytest.raises(UsageError, match="--threads must be an integer between 1 and"):
        BenchConfig("cpu", ("fp-transformer",), "synthetic-2", "tiny",
                    threads=(os.cpu_count() or 1) * 4 + 1)
    with pytest.raises(UsageError, match="--seed"):
        TrainRequest("fp-transformer", "synthetic-2", "tiny", seed=2**63)
    assert LoopSettings(warmup=0, min_queries=1, min_seconds=0).min_seconds == 0.0
    assert BenchConfig("cpu", ("fp-transformer",), "synthetic-2", "tiny",
                       threads=(os.cpu_count() or 1) * 4).threads
