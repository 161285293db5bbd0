"""The wide summary: one row per model x target x policy x runtime, headline metrics as columns.

One pivot serves both readers: `bench` prints it (`console_table`) and `report` writes
it as summary.csv. Every headline value is copied from a results.csv row unchanged
(no arithmetic), so each summary figure is one results figure. Policy-independent
rows (model_bytes, per-exit figures, ...) are stored once under the model's default
policy; they are shown on every policy row of that model, since they do not depend
on the policy. The derived columns compare speed within one run and target only (the
machine may be shared and noisy, so only side-by-side latencies are compared):
`p50_speedup_vs_fp` is fp-transformer's median batch-1 latency divided by the row's,
on the same runtime; `p50_speedup_vs_best_fp` divides by the row's the p50 of
fp-transformer on its fastest runtime in the run, which `best_fp_runtime` names: the
ratio against what a user would deploy, not against our own fp32 engine.

`degenerate_policy` names a calibrated policy that is not deciding per sample: "acts as
a fixed depth k" when 95 % or more of the samples stop at exit k (`exit_share_k`), and
"calibrated at its grid's edge" when its constant is the grid's first or last value.

A latency whose loop was judged not valid (`timing_valid` 0: a minimum missed, or the
machine contended; measure/validity.py) is shown marked and feeds no speed-up: its
ratios are empty, and it is never the fastest fp-transformer runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.models.exits import FIXED_DEPTH

# Identity of one model instance in one run; a summary row adds `policy`.
INSTANCE = ("run_id", "model", "target", "runtime", "host", "dataset", "preset", "seed")
# Columns that identify a summary row when shown to a reader; host, dataset, preset
# and run_id join them only when they vary (see `key_columns`).
BASE_KEY = ("model", "target", "policy", "runtime")
FP_MODEL = "fp-transformer"


@dataclass(frozen=True)
class Headline:
    """A summary column taken from one (metric, stat) of results.csv."""

    column: str
    metric: M.Metric
    stat: str = "value"
    deepest: bool = False  # a per-exit metric, taken at the model's deepest exit

    def header(self) -> str:
        return self.metric.header(self.stat, k="last" if self.deepest else None)


def _h(metric: M.Metric, stat: str = "value", column: str = "") -> Headline:
    return Headline(column or metric.name, metric, stat)


def _ci(metric: M.Metric) -> tuple[Headline, Headline]:
    return (_h(metric, "ci95_low", f"{metric.name}_ci95_low"),
            _h(metric, "ci95_high", f"{metric.name}_ci95_high"))


HEADLINES: tuple[Headline, ...] = (
    _h(M.ACC_FINAL),
    *_ci(M.ACC_FINAL),
    _h(M.ACC_POLICY),
    *_ci(M.ACC_POLICY),
    _h(M.ACC_GAIN_FROM_EXITS),
    *_ci(M.ACC_GAIN_FROM_EXITS),
    _h(M.ACC_GAIN_FROM_EXITS, "p_mcnemar", "acc_gain_from_exits_p_mcnemar"),
    _h(M.OPS_EXPECTED),
    Headline("ops_exit_last", M.OPS_EXIT, deepest=True),
    _h(M.FLOP_REDUCTION),
    *_ci(M.FLOP_REDUCTION),
    _h(M.AVG_EXIT_LAYER),
    _h(M.OVERTHINKING_DESTRUCTIVE),
    _h(M.OVERTHINKING_WASTEFUL),
    _h(M.MODEL_BYTES),
    _h(M.SIZE_RATIO_VS_FP),
    _h(M.COMPRESSION_RATIO),
    _h(M.LATENCY_MS, "p50", "latency_p50_ms"),
    _h(M.LATENCY_MS, "p90", "latency_p90_ms"),
    _h(M.LATENCY_MS, "p99", "latency_p99_ms"),
    _h(M.TIMING_VALID),
    _h(M.LATENCY_CV),
    _h(M.CPU_TIME_MS, "mean", "cpu_time_mean_ms"),
    _h(M.THROUGHPUT_SPS),
    _h(M.PEAK_RSS_MB),
    _h(M.ENERGY_J_PER_SAMPLE, "net"),
)
HEADLINE_COLUMNS = tuple(h.column for h in HEADLINES)
BY_COLUMN = {h.column: h for h in HEADLINES}
SPEEDUP = "p50_speedup_vs_fp"
BEST_SPEEDUP = "p50_speedup_vs_best_fp"
BEST_FP_RUNTIME = "best_fp_runtime"
DERIVED_COLUMNS = (SPEEDUP, BEST_SPEEDUP)
# Text columns describing a numeric one.
DEGENERATE = "degenerate_policy"
SHARE_MAX = "exit_share_max_pct"
DEGENERATE_SHARE_PCT = 95.0
DETAIL_COLUMNS = ("throughput_batch_size", "energy_estimated", "energy_source",
                  BEST_FP_RUNTIME, DEGENERATE)

# What `bench` prints at the end: a few headline columns and the same-run speed ratio.
CONSOLE_COLUMNS = (M.ACC_FINAL.name, M.ACC_POLICY.name, M.AVG_EXIT_LAYER.name,
                   M.MODEL_BYTES.name, M.SIZE_RATIO_VS_FP.name, M.OPS_EXPECTED.name,
                   M.FLOP_REDUCTION.name, "latency_p50_ms", M.TIMING_VALID.name,
                   "cpu_time_mean_ms", SPEEDUP,
                   BEST_SPEEDUP, BEST_FP_RUNTIME, M.THROUGHPUT_SPS.name,
                   M.ENERGY_J_PER_SAMPLE.name)


def column_header(column: str) -> str:
    """The label and unit of a summary column, for tables and plot axes."""
    if column in BY_COLUMN:
        return BY_COLUMN[column].header()
    if column == SPEEDUP:
        return "p50 speed-up vs fp-transformer, same run and runtime (x)"
    if column == BEST_SPEEDUP:
        return "p50 speed-up vs fp-transformer on its fastest runtime, same run (x)"
    if column == BEST_FP_RUNTIME:
        return "fp-transformer's fastest runtime"
    if column == DEGENERATE:
        return "policy acts as a fixed depth / calibrated at its grid's edge"
    if column == SHARE_MAX:
        return "largest share of samples stopping at one exit (%)"
    return column


def column_unit(column: str) -> str:
    if column in BY_COLUMN:
        h = BY_COLUMN[column]
        return h.metric.unit_of(h.stat)
    if column == SHARE_MAX:
        return "%"
    return "x" if column in DERIVED_COLUMNS else ""


def key_columns(tidy: pd.DataFrame) -> list[str]:
    """Columns that tell summary rows apart: the base key plus whatever varies."""
    cols = list(BASE_KEY)
    for extra in ("host", "dataset", "preset", "seed"):
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


def _deepest(rows: pd.DataFrame, metric: M.Metric) -> str | None:
    depths = [k for k in (M.exit_block(n) for n in rows["metric"].unique()
                          if metric.pattern.match(n)) if k is not None]
    return metric.at(max(depths)) if depths else None


def _summary_row(rows: pd.DataFrame, policy: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for h in HEADLINES:
        metric = _deepest(rows, h.metric) if h.deepest else h.metric.name
        hit = _pick(rows, policy, metric, h.stat) if metric else rows.iloc[0:0]
        if h.metric is M.LATENCY_MS:
            # SingleStream latency is the batch-1 figure.
            one = hit[hit["batch_size"] == "1"]
            hit = one if not one.empty else hit
        if h.metric is M.THROUGHPUT_SPS and not hit.empty:
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
        if h.metric is M.ENERGY_J_PER_SAMPLE:
            out["energy_estimated"] = "estimated" if row["estimated"] == "true" else "measured"
            note = row.get("note", "")
            # a figure left empty says why where its source is shown
            out["energy_source"] = f"{row['source']} (no figure: {note})" if note else row["source"]
    return out


def valid_p50(summary: pd.DataFrame) -> pd.Series:
    """Each row's p50 where its timing may feed a ratio: not judged invalid (runs written
    before timings were judged have no verdict, and count as they always did)."""
    own = summary["latency_p50_ms"].astype(float)
    invalid = summary[M.TIMING_VALID.name].astype(float) == 0
    return own.where((own > 0) & ~invalid)


def _degenerate(rows: pd.DataFrame, policy: str) -> dict[str, object]:
    """The largest exit share of a policy and, where it is not deciding per sample, why."""
    own = rows[rows["policy"] == policy]
    shares = {M.exit_block(m): float(v) for m, v in zip(own["metric"], own["value"],
                                                         strict=True)
              if M.EXIT_SHARE.pattern.match(m)}
    reasons = []
    top = None
    if shares:
        k = max(shares, key=lambda b: (shares[b], -b))
        top = shares[k]
        # A fixed-depth baseline stops every sample at one exit by design: no flag.
        static = policy.startswith(f"{FIXED_DEPTH}-")
        if len(shares) > 1 and top >= DEGENERATE_SHARE_PCT and not static:
            reasons.append(f"acts as a fixed depth {k} ({top:.1f} % of samples stop at "
                           f"exit {k})")
    param = {s: float(v) for m, s, v in zip(own["metric"], own["stat"], own["value"],
                                            strict=True) if m == M.POLICY_PARAM.name}
    if {"calibrated", "grid_min", "grid_max"} <= set(param) and \
            param["calibrated"] in (param["grid_min"], param["grid_max"]):
        reasons.append(f"calibrated at its grid's edge ({param['calibrated']:g}; grid "
                       f"{param['grid_min']:g} to {param['grid_max']:g})")
    return {SHARE_MAX: top, DEGENERATE: "; ".join(reasons)}


def _speedups(summary: pd.DataFrame) -> pd.Series:
    """fp-transformer's p50 over each row's, within one run, target and runtime."""
    same = ["run_id", "target", "runtime", "seed"]
    usable = summary.assign(_p50=valid_p50(summary))
    fp = usable[usable["model"] == FP_MODEL].groupby(same)["_p50"].first()
    keys = pd.MultiIndex.from_frame(summary[same])
    fp_p50 = pd.Series(fp.reindex(keys).to_numpy(), index=summary.index, dtype=float)
    return fp_p50 / usable["_p50"]


def _best_fp(summary: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """fp-transformer's fastest p50 over each row's within one run, target and seed, and
    the runtime it was measured on."""
    usable = summary.assign(_p50=valid_p50(summary))
    fp = usable[(usable["model"] == FP_MODEL) & usable["_p50"].notna()]
    fp = fp.sort_values("_p50", kind="stable")
    same = ["run_id", "target", "seed"]
    best = fp.groupby(same).first()
    keys = pd.MultiIndex.from_frame(summary[same])
    best_p50 = pd.Series(best["_p50"].reindex(keys).to_numpy(), index=summary.index,
                         dtype=float)
    runtime = pd.Series(best["runtime"].reindex(keys).to_numpy(), index=summary.index,
                        dtype=object)
    return best_p50 / usable["_p50"], runtime


def build_summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """The wide summary table of the merged tidy rows (see the module docstring)."""
    keys = key_columns(tidy)
    context = [c for c in ("dataset", "preset", "seed", "device", "host", "run_id")
               if c not in keys]
    columns = (keys + context + list(HEADLINE_COLUMNS) + [SHARE_MAX] + list(DERIVED_COLUMNS)
               + list(DETAIL_COLUMNS))
    not_sweep = ~tidy["metric"].isin([M.SWEEP_ACC_POLICY.name, M.SWEEP_OPS_EXPECTED.name])
    records = []
    for _, rows in tidy.groupby(list(INSTANCE), sort=False):
        policies = list(dict.fromkeys(rows.loc[not_sweep.loc[rows.index], "policy"]))
        for policy in policies:
            first = rows.iloc[0]
            record: dict[str, object] = {c: first[c] for c in INSTANCE}
            record["policy"] = policy
            record["device"] = first["device"]
            record.update(_summary_row(rows, policy))
            record.update(_degenerate(rows, policy))
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
    summary[SPEEDUP] = _speedups(summary) if len(summary) else pd.Series(dtype=float)
    if len(summary):
        summary[BEST_SPEEDUP], summary[BEST_FP_RUNTIME] = _best_fp(summary)
    return summary.sort_values(keys, kind="stable").reset_index(drop=True)


def _console_cell(value: object, column: str, row: pd.Series) -> str:
    if pd.isna(value):
        return "-"
    if column in DETAIL_COLUMNS:
        return str(value)
    value = float(value)
    unit = column_unit(column)
    if unit in ("bytes", "count"):
        text = f"{value:,.0f}"
    elif unit == "op":
        text = f"{value:.3g}"
    elif unit in ("%", "pts", "x", "blocks"):
        text = f"{value:.2f}"
    elif unit == "samples/s":
        text = f"{value:.0f}"
    elif unit == "ms":
        text = f"{value:.3f}"
    else:
        text = f"{value:.3g}"
    if column == M.ENERGY_J_PER_SAMPLE.name and row.get("energy_estimated") == "estimated":
        text += " (est.)"
    verdict = row.get(M.TIMING_VALID.name)
    if column == "latency_p50_ms" and verdict is not None and not pd.isna(verdict) \
            and verdict == 0:
        text += " (INVALID)"
    return text


def console_table(summary: pd.DataFrame) -> str:
    """The summary as aligned text: column names, then their units, then one line a row."""
    keys = [c for c in key_columns_of(summary) if c != "target"]
    header = keys + list(CONSOLE_COLUMNS)
    units = [""] * len(keys) + [column_unit(c) for c in CONSOLE_COLUMNS]
    lines = [header, units]
    for _, row in summary.iterrows():
        lines.append([str(row[k]) for k in keys]
                     + [_console_cell(row[c], c, row) for c in CONSOLE_COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i >= len(keys) else c.ljust(w)
                               for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip()
                     for line in lines)


def key_columns_of(summary: pd.DataFrame) -> list[str]:
    """The key columns of a built summary: the base key plus any that vary within it."""
    cols = [c for c in BASE_KEY if c in summary]
    if summary["runtime"].nunique() <= 1:
        cols.remove("runtime")
    return cols + [c for c in ("host", "dataset", "preset", "seed", "run_id")
                   if c in summary and summary[c].nunique() > 1]
