"""The table `beexbench bench` prints: the summary pivot, and latency against fp-transformer."""

from __future__ import annotations

import re

import pandas as pd

from beexbench.results.schema import RESULT_COLUMNS
from beexbench.results.summary import SPEEDUP, build_summary, console_table


def _row(model: str, policy: str, metric: str, value: float, stat: str = "value",
         batch_size: str = "") -> dict:
    row = dict.fromkeys(RESULT_COLUMNS, "")
    row.update({"run_id": "r1", "target": "cpu", "runtime": "fake-quant", "host": "h",
                "dataset": "d", "preset": "tiny", "model": model, "policy": policy,
                "metric": metric, "stat": stat, "value": value, "estimated": "false",
                "batch_size": batch_size})
    return row


def _summary(p50_by_model: dict[str, float]) -> pd.DataFrame:
    rows = []
    for model, p50 in p50_by_model.items():
        policy = "final" if model == "fp-transformer" else "beex-entropy-drop"
        rows += [_row(model, policy, "acc_policy", 70.0),
                 _row(model, policy, "latency_ms", p50, "p50", "1")]
    return build_summary(pd.DataFrame(rows))


def _table(summary: pd.DataFrame) -> dict[str, dict[str, str]]:
    header, _units, *lines = [re.split(r"\s{2,}", line.strip())
                              for line in console_table(summary).splitlines()]
    return {line[0]: dict(zip(header, line, strict=True)) for line in lines}


def test_latency_ratio_against_fp_transformer_of_the_same_run():
    summary = _summary({"fp-transformer": 1.5, "beexformer-a1": 0.3})
    table = _table(summary)
    assert table["beexformer-a1"]["latency_p50_ms"] == "0.300"
    assert table["beexformer-a1"][SPEEDUP] == "5.00"
    assert table["fp-transformer"][SPEEDUP] == "1.00"


def test_no_latency_ratio_without_fp_transformer():
    assert _table(_summary({"beexformer-a1": 0.3}))["beexformer-a1"][SPEEDUP] == "-"


def test_console_units_come_from_the_catalogue():
    lines = console_table(_summary({"fp-transformer": 1.5})).splitlines()
    assert re.split(r"\s{2,}", lines[1].strip())[:3] == ["%", "%", "blocks"]
