"""The wide summary: one row per model x target x policy x runtime, headline metrics as columns.

Every value is copied from a results.csv row unchanged (no arithmetic), so each
summary figure is one results figure. Policy-independent rows (model_bytes,
per-exit figures, ...) are stored once under the model's default policy; they are
shown on every policy row of that model, since they do not depend on the policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# Identity of one model instance in one run; a summary row adds `policy`.
INSTANCE = ("run_id", "model", "target", "runtime", "host", "dataset", "preset")
# Columns that identify a summary row when shown to a reader; host, dataset, preset
# and run_id join them only when they vary (see `key_columns`).
BASE_KEY = ("model", "target", "policy", "runtime")


@dataclass(frozen=True)
class Headline:
    """A summary column taken from one (metric, stat) of results.csv."""

    column: str
    metric: str
    stat: str = "value"


HEADLINES: tuple[Headline, ...] = (
    Headline("acc_final", "acc_final"),
    Headline("acc_policy", "acc_policy"),
    Headline("acc_gain_from_exits_pts", "acc_gain_from_exits_pts"),
    Headline("ops_expected", "ops_expected"),
    Headline("ops_exit_last", "ops_exit_last"),  # resolved to ops_exit_<deepest k>
    Headline("flop_reduction_pct", "flop_reduction_pct"),
    Headline("avg_exit_layer", "avg_exit_layer"),
    Headline("overthinking_destructive_pct", "overthinking_destructive_pct"),
    Headline("overthinking_wasteful_pct", "overthinking_wasteful_pct"),
    Headline("model_bytes", "model_bytes"),
    Headline("size_ratio_vs_fp", "size_ratio_vs_fp"),
    Headline("compression_ratio", "compression_ratio"),
    Headline("latency_p50_ms", "latency_ms", "p50"),
    Headline("latency_p90_ms", "latency_ms", "p90"),
    Headline("latency_p99_ms", "latency_ms", "p99"),
    Headline("throughput_sps", "throughput_sps"),
    Headline("peak_rss_mb", "peak_rss_mb"),
    Headline("energy_j_per_sample", "energy_j_per_sample", "net"),
)
HEADLINE_COLUMNS = tuple(h.column for h in HEADLINES)
# Text columns describing a numeric one.
DETAIL_COLUMNS = ("throughput_batch_size", "energy_estimated", "energy_source")

_OPS_EXIT = re.compile(r"^ops_exit_(\d+)$")


def key_columns(tidy: pd.DataFrame) -> list[str]:
    """Columns that tell summary rows apart: the base key plus whatever varies."""
    cols = list(BASE_KEY)
    for extra in ("host", "dataset", "preset"):
        if tidy[extra].nunique() > 1:
            cols.append(extra)
    instances = tidy[list(INSTANCE) + ["policy"]].drop_duplicates()
    if instances.duplicated(subset=cols).any():
        cols.append("run_id")
    return cols


def _pick(rows: pd.DataFrame, policy: str, metric: str, stat: str) -> pd.DataFrame:
    """Rows of `metric`/`stat` for `policy`, else from the one policy that carries it."""
    hits = rows[(rows["metric"] == metric) & (rows["stat"] == stat)]
    own = hits[hits["policy"] == policy]
    if not own.empty:
        return own
    if hits["policy"].nunique() == 1:
        return hits
    return hits.iloc[0:0]


def _deepest_ops_exit(rows: pd.DataFrame) -> str | None:
    depths = [int(m.group(1)) for m in map(_OPS_EXIT.match, rows["metric"].unique()) if m]
    return f"ops_exit_{max(depths)}" if depths else None


def _summary_row(rows: pd.DataFrame, policy: str) -> dict[str, object]:
    out: dict[str, object] = {}
    deepest = _deepest_ops_exit(rows)
    for h in HEADLINES:
        metric = deepest if h.metric == "ops_exit_last" else h.metric
        hit = _pick(rows, policy, metric, h.stat) if metric else rows.iloc[0:0]
        if h.metric == "latency_ms":
            # SingleStream latency is the batch-1 figure.
            one = hit[hit["batch_size"] == "1"]
            hit = one if not one.empty else hit
        if h.metric == "throughput_sps" and not hit.empty:
            # Offline throughput: the largest batch measured.
            sizes = pd.to_numeric(hit["batch_size"], errors="coerce")
            hit = hit[sizes == sizes.max()]
            out["throughput_batch_size"] = hit["batch_size"].iloc[-1]
        if hit.empty:
            out[h.column] = float("nan")
            continue
        # Several rows for one figure (a resumed run): the last written wins.
        row = hit.iloc[-1]
        out[h.column] = row["value"]
        if h.metric == "energy_j_per_sample":
            out["energy_estimated"] = "estimated" if row["estimated"] == "true" else "measured"
            out["energy_source"] = row["source"]
    return out


def build_summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """The wide summary table of the merged tidy rows (see the module docstring)."""
    keys = key_columns(tidy)
    context = [c for c in ("dataset", "preset", "device", "host", "run_id") if c not in keys]
    columns = keys + context + list(HEADLINE_COLUMNS) + list(DETAIL_COLUMNS)
    not_sweep = ~tidy["metric"].str.startswith("sweep_")
    records = []
    for _, rows in tidy.groupby(list(INSTANCE), sort=False):
        policies = list(dict.fromkeys(rows.loc[not_sweep.loc[rows.index], "policy"]))
        for policy in policies:
            first = rows.iloc[0]
            record: dict[str, object] = {c: first[c] for c in INSTANCE}
            record["policy"] = policy
            record["device"] = first["device"]
            record.update(_summary_row(rows, policy))
            records.append(record)
    summary = pd.DataFrame.from_records(records, columns=columns)
    for col in HEADLINE_COLUMNS:
        values = summary[col].astype(float)
        whole = values.dropna()
        # Counts (bytes, ops at an exit) are written as integers, not as 65017.0.
        if len(whole) and (whole % 1 == 0).all() and (whole.abs() < 2**53).all():
            summary[col] = values.astype("Int64")
        else:
            summary[col] = values
    return summary.sort_values(keys, kind="stable").reset_index(drop=True)
