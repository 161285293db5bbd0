"""The table `beexbench bench` prints: stored figures, and latency against fp-transformer."""

from __future__ import annotations

import re

from harness.bench.summary import summary_table


def _row(model: str, policy: str, metric: str, value: float, stat: str = "value") -> dict:
    return {"model": model, "policy": policy, "metric": metric, "stat": stat,
            "value": str(value), "estimated": "false"}


def _table(p50_by_model: dict[str, float]) -> dict[str, dict[str, str]]:
    rows = []
    for model, p50 in p50_by_model.items():
        policy = "final" if model == "fp-transformer" else "beex-entropy-drop"
        rows += [_row(model, policy, "acc_policy", 70.0),
                 _row(model, policy, "latency_ms", p50, "p50")]
    header, *lines = [re.split(r"\s{2,}", line.strip())
                      for line in summary_table(rows).splitlines()]
    return {line[0]: dict(zip(header, line, strict=True)) for line in lines}


def test_latency_ratio_against_fp_transformer_of_the_same_run():
    table = _table({"fp-transformer": 1.5, "beexformer-a1": 0.3})
    assert table["beexformer-a1"]["p50 ms"] == "0.300"
    assert table["beexformer-a1"]["p50 x vs fp"] == "5.00"
    assert table["fp-transformer"]["p50 x vs fp"] == "1.00"


def test_no_latency_ratio_without_fp_transformer():
    assert _table({"beexformer-a1": 0.3})["beexformer-a1"]["p50 x vs fp"] == "-"
