"""Long tables that the plots draw from: latency samples, exit depths, policy sweeps.

Each row carries the `target` and `label` of its summary row, so a plot's series
match the summary and report tables.
"""

from __future__ import annotations

import re

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.results.rundir import Run

_PRED = re.compile(r"^pred_(\d+)$")
MATCH = ["run_id", "model", "policy", "runtime", "seed"]


def _labelled(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    keys = summary[MATCH + ["target", "label"]].drop_duplicates(subset=MATCH)
    return frame.merge(keys, on=MATCH, how="inner")


def latency_samples(runs: list[Run], summary: pd.DataFrame) -> pd.DataFrame:
    """Raw batch-1 latency samples of every run that kept them."""
    frames = []
    for run in runs:
        run_id = run.run_ids[0] if run.run_ids else ""
        for model, seed, runtime, df in run.all_samples():
            part = df[(df["metric"] == M.LATENCY_MS.name) & (df["batch_size"] == 1)]
            frames.append(part.assign(run_id=run_id, model=model, runtime=runtime, seed=seed)
                          [MATCH + ["value"]])
    if not frames:
        return pd.DataFrame(columns=MATCH + ["value", "target", "label"])
    return _labelled(pd.concat(frames, ignore_index=True), summary)


def exit_depths(runs: list[Run], summary: pd.DataFrame) -> pd.DataFrame:
    """Exit block of every eval sample, for models with more than one exit."""
    frames = []
    for run in runs:
        run_id = run.run_ids[0] if run.run_ids else ""
        for model, policy, seed, runtime, df in run.all_predictions():
            blocks = [int(m.group(1)) for m in map(_PRED.match, df.columns) if m]
            if len(blocks) < 2:
                continue  # a final-only model always stops at its last block
            policy = policy or run.default_policy(model)
            frames.append(pd.DataFrame({
                "run_id": run_id, "model": model, "policy": policy, "runtime": runtime,
                "seed": seed,
                "exit_layer": df["exit_layer"], "blocks": max(blocks),
            }))
    if not frames:
        return pd.DataFrame(columns=MATCH + ["exit_layer", "blocks", "target", "label"])
    return _labelled(pd.concat(frames, ignore_index=True), summary)


def sweep_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """One point per swept constant: accuracy and expected ops under that value."""
    keys = ["run_id", "model", "target", "runtime", "host", "policy", "stat"]
    acc = tidy[tidy["metric"] == M.SWEEP_ACC_POLICY.name][keys + ["value"]]
    ops = tidy[tidy["metric"] == M.SWEEP_OPS_EXPECTED.name][keys + ["value"]]
    points = acc.merge(ops, on=keys, suffixes=("_acc", "_ops"))
    points = points.rename(columns={"value_acc": "acc", "value_ops": "ops", "stat": "param"})
    if points.empty:
        return pd.DataFrame(columns=["target", "label", "param", "acc", "ops"])
    # A sweep's policy is always named, even where a summary label would leave it out.
    points["label"] = points["model"] + " / " + points["policy"]
    several = points.groupby(["target", "model", "policy"])["host"].transform("nunique") > 1
    points.loc[several, "label"] += " @ " + points.loc[several, "host"]
    return points[["target", "label", "param", "acc", "ops"]]
