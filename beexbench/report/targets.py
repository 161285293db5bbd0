"""The same models on every target, side by side: one line per model, policy and runtime,
two columns per target (the mean over the seeds measured there)."""

from __future__ import annotations

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.results.summary import column_header

# Per target: how fast, and whether the same checkpoints predict the same there.
COLUMNS = ("latency_p50_ms", M.ACC_POLICY.name)
GROUP = ["model", "policy", "runtime", "dataset", "preset"]


def across_targets(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the across-targets table; no rows with fewer than 2 targets."""
    targets = sorted(set(summary["target"]))
    if len(targets) < 2:
        return [], []
    header = ["model", "policy", "runtime"] + [
        f"{column_header(c)} on {t}" for t in targets for c in COLUMNS]
    rows = []
    for key, part in summary.groupby(GROUP, sort=True, dropna=False):
        fields = dict(zip(GROUP, key, strict=True))
        line = [fields["model"], fields["policy"], fields["runtime"]]
        for target in targets:
            here = part[part["target"] == target]
            for col in COLUMNS:
                values = [float(v) for v in here[col] if pd.notna(v)] if col in here else []
                if not values:
                    line.append("—")
                    continue
                seeds = len(set(here["seed"]))
                text = f"{sum(values) / len(values):.4g}"
                line.append(text + (f" ({seeds} seeds)" if seeds > 1 else ""))
        rows.append(line)
    return header, rows
