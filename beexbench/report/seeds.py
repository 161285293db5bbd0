"""Figures across training seeds: the mean, and a 95 % t interval when there are 3 or more.

The interval is over seeds (how much a figure moves when the model is trained again),
not over test samples; with fewer than 3 seeds it is not shown.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from beexbench.measure import catalog as M
from beexbench.results.summary import column_header

LEVEL = 0.95
MIN_SEEDS = 3
# The figures aggregated, as summary columns.
COLUMNS = (M.ACC_FINAL.name, M.ACC_POLICY.name, M.ACC_GAIN_FROM_EXITS.name,
           M.FLOP_REDUCTION.name, M.OPS_EXPECTED.name, M.AVG_EXIT_LAYER.name, "latency_p50_ms")
# By device, not host: seeds a sweep measured on two boards of one kind aggregate.
GROUP = ["model", "target", "policy", "runtime", "dataset", "preset", "device"]


def t_interval(values: list[float]) -> tuple[float, float] | None:
    """95 % Student-t interval of the mean of `values` (None below MIN_SEEDS)."""
    if len(values) < MIN_SEEDS:
        return None
    mean = sum(values) / len(values)
    sem = stats.sem(values)
    if sem == 0 or math.isnan(sem):
        return mean, mean
    low, high = stats.t.interval(LEVEL, len(values) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def across_seeds(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the across-seeds table; no rows when no group has 2+ seeds."""
    header = ["model", "policy", "target", "runtime", "seeds"] + [
        column_header(c) for c in COLUMNS]
    rows = []
    for key, part in summary.groupby(GROUP, sort=True, dropna=False):
        seeds = sorted(set(part["seed"]))
        if len(seeds) < 2:
            continue
        fields = dict(zip(GROUP, key, strict=True))
        line = [fields["model"], fields["policy"], fields["target"], fields["runtime"],
                ", ".join(seeds)]
        for col in COLUMNS:
            values = [float(v) for v in part[col] if pd.notna(v)]
            if not values:
                line.append("—")
                continue
            mean = sum(values) / len(values)
            interval = t_interval(values)
            text = f"{mean:.4g}"
            if interval:
                text += f" [{interval[0]:.4g}, {interval[1]:.4g}]"
            line.append(text)
        rows.append(line)
    return header, rows


def seed_mean(summary: pd.DataFrame, column: str) -> tuple[float, tuple[float, float] | None, int]:
    """(mean over seeds, t interval or None, number of seeds) of one column."""
    values = [float(v) for v in summary[column] if pd.notna(v)]
    return sum(values) / len(values), t_interval(values), len(values)
