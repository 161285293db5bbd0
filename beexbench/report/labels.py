"""Short series labels for plots: the model, plus whatever else tells two series apart."""

from __future__ import annotations

import pandas as pd


def series_labels(summary: pd.DataFrame) -> pd.Series:
    """model, then `/ policy` for multi-policy models, `@ host`, `[runtime]`, `#run` as needed.

    Targets are not part of the label: plots facet by target instead.
    """
    def varies(within: list[str], col: str) -> pd.Series:
        return summary.groupby(within)[col].transform("nunique") > 1

    policy = varies(["model", "target"], "policy")
    host = varies(["model", "target"], "host")
    runtime = varies(["model", "target"], "runtime")
    labels = []
    for i, row in summary.iterrows():
        text = row["model"]
        if policy[i]:
            text += f" / {row['policy']}"
        if runtime[i]:
            text += f" [{row['runtime']}]"
        if host[i]:
            text += f" @ {row['host']}"
        labels.append(text)
    out = pd.Series(labels, index=summary.index)
    # Same label twice in one target (e.g. two runs of one model): add the run's number,
    # its place in the report's runs table (a run id is too long for a legend).
    dup = summary.assign(_l=out).duplicated(subset=["target", "_l"], keep=False)
    number = {run: i for i, run in enumerate(sorted(summary["run_id"].unique()), start=1)}
    out[dup] = out[dup] + " #run" + summary.loc[dup, "run_id"].map(number).astype(str)
    return out
