"""Accuracy of each model against fp-transformer on the same test samples, with evidence.

Both sides come from the predictions files of one run and seed, joined on sample id,
so the comparison is paired: the difference gets a percentile-bootstrap interval over
the samples and an exact McNemar test (beexbench.measure.uncertainty).
"""

from __future__ import annotations

import pandas as pd

from beexbench.measure.uncertainty import in_words, paired_difference
from beexbench.report.fmt import format_value
from beexbench.results.rundir import Run

FP_MODEL = "fp-transformer"
COLUMNS = ["model", "policy", "runtime", "seed", "run_id", "samples", "acc_policy - fp acc (pts)",
           "ci95_low", "ci95_high", "p_mcnemar", "reading"]


def _right(df: pd.DataFrame) -> pd.Series:
    return (df["pred_policy"].astype(int) == df["label"].astype(int)).set_axis(df["id"])


def accuracy_vs_fp(runs: list[Run]) -> list[list[str]]:
    """One row per (run, seed, model, policy, runtime) whose run also holds fp-transformer
    at that seed; fp-transformer's side is its first runtime's predictions."""
    rows = []
    for run in runs:
        run_id = ", ".join(run.run_ids)
        first = run.first_runtime(FP_MODEL)
        fp_by_seed = {seed: df for model, _, seed, runtime, df in run.all_predictions()
                      if model == FP_MODEL and runtime == first}
        ours_all = sorted((kv for kv in run.all_predictions() if kv[0] != FP_MODEL),
                          key=lambda kv: (kv[2], kv[0], kv[1] or "", kv[3] or ""))
        for model, policy, seed, runtime, df in ours_all:
            if seed not in fp_by_seed:
                continue
            ours, fp = _right(df), _right(fp_by_seed[seed])
            common = ours.index.intersection(fp.index)
            if common.empty:
                continue
            diff, low, high, p = paired_difference(ours[common].tolist(), fp[common].tolist())
            rows.append([model, policy or run.default_policy(model) or "", runtime or "",
                         seed or "-", run_id, str(len(common)), f"{diff:+.2f}", f"{low:+.2f}",
                         f"{high:+.2f}", format_value(p), in_words(low, high, p)])
    return rows
