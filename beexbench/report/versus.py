"""Binarization vs early exit: packed BEExformer against fp-transformer-ee at its fastest.

An edge engineer's obvious alternative to a binary early-exit model is a full-precision
early-exit model on a standard runtime. So each packed beexformer(-a1) row is set beside
fp-transformer-ee under the same exit policy, in the same run and target, on whichever
runtime ran fp-transformer-ee fastest there: what binarization buys on top of early exit.
"""

from __future__ import annotations

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.report.fmt import MISSING, format_value

BINARY_MODELS = ("beexformer", "beexformer-a1")
EARLY_EXIT_MODEL = "fp-transformer-ee"
PACKED_PREFIX = "packed"  # packed-native, packed-fallback
P50, CPU_MEAN = "latency_p50_ms", "cpu_time_mean_ms"
VERSUS_COLUMNS = [
    "target", "model", "policy", "runtime", "p50 (ms)", "CPU mean (ms)",
    f"{EARLY_EXIT_MODEL} runtime", f"{EARLY_EXIT_MODEL} p50 (ms)",
    f"{EARLY_EXIT_MODEL} CPU mean (ms)", "p50 speed-up (x)", "CPU mean speed-up (x)",
    f"{M.ACC_POLICY.name} (%)", f"{EARLY_EXIT_MODEL} {M.ACC_POLICY.name} (%)",
    f"{M.MODEL_BYTES.name}", f"{EARLY_EXIT_MODEL} {M.MODEL_BYTES.name}",
]


def _ratio(num: object, den: object) -> str:
    if pd.isna(num) or pd.isna(den) or float(den) <= 0:
        return MISSING
    return format_value(float(num) / float(den))


def _fastest(rows: pd.DataFrame) -> pd.Series | None:
    timed = rows[rows[P50].notna()]
    if timed.empty:
        return None
    return timed.loc[timed[P50].astype(float).idxmin()]


def binarization_vs_early_exit(summary: pd.DataFrame) -> list[list[str]]:
    """One row per packed binary model and policy with a timed fp-transformer-ee to face."""
    rows: list[list[str]] = []
    binary = summary[summary["model"].isin(BINARY_MODELS)
                     & summary["runtime"].astype(str).str.startswith(PACKED_PREFIX)]
    for _, b in binary.iterrows():
        rivals = summary[(summary["model"] == EARLY_EXIT_MODEL)
                         & (summary["run_id"] == b["run_id"])
                         & (summary["target"] == b["target"])
                         & (summary["policy"] == b["policy"])]
        ee = _fastest(rivals)
        if ee is None:
            continue
        rows.append([
            str(b["target"]), str(b["model"]), str(b["policy"]), str(b["runtime"]),
            format_value(b[P50]), format_value(b[CPU_MEAN]), str(ee["runtime"]),
            format_value(ee[P50]), format_value(ee[CPU_MEAN]), _ratio(ee[P50], b[P50]),
            _ratio(ee[CPU_MEAN], b[CPU_MEAN]), format_value(b[M.ACC_POLICY.name]),
            format_value(ee[M.ACC_POLICY.name]), format_value(b[M.MODEL_BYTES.name]),
            format_value(ee[M.MODEL_BYTES.name]),
        ])
    return rows
