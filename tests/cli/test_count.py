"""`beexbench count`: sizes and op counts of untrained models at a preset's shape."""

from __future__ import annotations

import json

import pytest
from conftest import one_line

from beexbench.cli.main import main
from beexbench.config import PRESETS

MIB = 2 ** 20
STRUCTURAL = {"model_bytes", "compression_ratio", "size_ratio_vs_fp", "params_total",
              "params_binary"}


def count_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    assert main(["-q", "count", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def figure(rows: list[dict], model: str, metric: str) -> float:
    (value,) = [r["value"] for r in rows if r["model"] == model and r["metric"] == metric]
    return value


def test_bert_base_reproduces_the_published_counts(capsys):
    rows = count_json(capsys, "--models", "fp-transformer,binarybert-a4", "--preset",
                      "bert-base", "--length", "128")
    # fp: 11.17 G MACs, so 22.35 G FLOPs (BiBERT publishes 22.5 G).
    assert figure(rows, "fp-transformer", "ops_exit_12") == pytest.approx(22.35e9, rel=0.01)
    # BinaryBERT 1-1-4: published 1.5 G ops and 16.5 MB.
    assert figure(rows, "binarybert-a4", "ops_exit_12") == pytest.approx(1.5e9, rel=0.05)
    size = figure(rows, "binarybert-a4", "model_bytes")
    # The papers' "MB" are MiB (418 MB = 109.48 M fp32 parameters); either reading holds.
    assert 13e6 <= size <= 17.3e6 and 13 * MIB <= size <= 17.3 * MIB
    # Every linear and the word table are binary: all but 0.6 % of the parameters.
    binary, total = (figure(rows, "binarybert-a4", m) for m in ("params_binary", "params_total"))
    assert binary / total > 0.99


def test_rows_are_tidy_and_named_as_bench_names_them(capsys):
    rows = count_json(capsys, "--models", "fp-transformer-ee,beexformer-a1", "--preset", "tiny")
    blocks = PRESETS.get("tiny").blocks
    per_exit = {f"{m}_exit_{k}" for m in ("macs", "flops", "bops", "ops")
                for k in range(1, blocks + 1)}
    for model in ("fp-transformer-ee", "beexformer-a1"):
        mine = [r for r in rows if r["model"] == model]
        assert {r["metric"] for r in mine} == STRUCTURAL | per_exit
        for r in mine:
            assert r.keys() >= {"model", "metric", "stat", "value", "unit"}
            assert r["stat"] == "value" and r["length"] == PRESETS.get("tiny").max_len
    assert figure(rows, "fp-transformer-ee", "bops_exit_3") == 0
    assert figure(rows, "beexformer-a1", "size_ratio_vs_fp") > 5


def test_plain_output_is_a_table(capsys):
    assert main(["-q", "count", "--models", "binarybert", "--preset", "tiny", "--length",
                 "8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["model", "metric", "value", "unit"]
    assert any(line.split()[:2] == ["binarybert", "ops_exit_3"] for line in out)


@pytest.mark.parametrize("argv,named", [
    (["--models", "nope", "--preset", "tiny"], "model 'nope'"),
    (["--models", "fp-transformer", "--preset", "huge"], "preset 'huge'"),
    (["--models", "fp-transformer", "--preset", "tiny", "--length", "0"], "--length 0"),
    (["--models", "fp-transformer", "--preset", "tiny", "--length", "33"], "--length 33"),
    (["--models", " , ", "--preset", "tiny"], "--models"),
    (["--models", "fp-transformer", "--preset", "tiny", "--length", "x"], "--length"),
])
def test_bad_input_is_one_line_and_exit_2(argv, named, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["count", *argv]))
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert one_line(err) and named in err
