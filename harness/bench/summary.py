"""The table `beexbench bench` prints at the end, built from the stored rows.

Besides the stored figures it shows one ratio of two of them: each line's median
latency against fp-transformer's, measured side by side in the same run (the machine
may be shared and noisy, so only same-run latencies are compared)."""

from __future__ import annotations

from collections.abc import Iterable

FP_MODEL = "fp-transformer"
SPEEDUP = "p50_speedup_vs_fp"  # fp-transformer's p50 latency / this line's, same run

COLUMNS = (
    ("acc_final", "value", "acc final %", "{:.2f}"),
    ("acc_policy", "value", "acc policy %", "{:.2f}"),
    ("avg_exit_layer", "value", "avg exit", "{:.2f}"),
    ("model_bytes", "value", "bytes", "{:,.0f}"),
    ("size_ratio_vs_fp", "value", "size vs fp x", "{:.2f}"),
    ("ops_expected", "value", "ops/sample", "{:.3g}"),
    ("flop_reduction_pct", "value", "ops saved %", "{:.1f}"),
    ("latency_ms", "p50", "p50 ms", "{:.3f}"),
    (SPEEDUP, "", "p50 x vs fp", "{:.2f}"),
    ("throughput_sps", "value", "samples/s", "{:.0f}"),
    ("energy_j_per_sample", "net", "J/sample", "{:.3g}"),
)


def summary_table(rows: Iterable[dict[str, str]]) -> str:
    """One line per model x policy; policy-independent figures fill every policy's line."""
    values: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
    shared: dict[str, dict[tuple[str, str], str]] = {}
    estimated: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["model"], r["policy"])
        values.setdefault(key, {})[(r["metric"], r["stat"])] = r["value"]
        shared.setdefault(r["model"], {})[(r["metric"], r["stat"])] = r["value"]
        if r["metric"] == "energy_j_per_sample" and r["estimated"] == "true":
            estimated.add(key)
    policy_keys = [k for k in values if ("acc_policy", "value") in values[k]]
    fp_p50 = shared.get(FP_MODEL, {}).get(("latency_ms", "p50"))
    for key in policy_keys:
        p50 = values[key].get(("latency_ms", "p50"))
        if fp_p50 and p50 and float(p50) > 0:
            values[key][(SPEEDUP, "")] = str(float(fp_p50) / float(p50))
    header = ["model", "policy"] + [c[2] for c in COLUMNS]
    lines = [header]
    for key in policy_keys:
        cells = [key[0], key[1]]
        for metric, stat, _, fmt in COLUMNS:
            raw = values[key].get((metric, stat), shared[key[0]].get((metric, stat)))
            cell = "-" if raw in (None, "") else fmt.format(float(raw))
            if metric == "energy_j_per_sample" and key in estimated and cell != "-":
                cell += " (est.)"
            cells.append(cell)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(line, widths, strict=True)))
                     for line in lines)
