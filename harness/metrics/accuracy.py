"""Accuracy per exit, under the policy, oracle, and the overthinking rates (Kaya et al.).

Every figure is computed from the columns of a predictions file, so it can be
recomputed from `predictions/<model>.csv` alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def accuracy_metrics(
    labels: Sequence[int],
    preds_by_exit: Mapping[int, Sequence[int]],
    pred_policy: Sequence[int],
    exit_layer: Sequence[int],
) -> dict[str, float]:
    """Metric name -> value; accuracies and rates in %, avg_exit_layer in blocks."""
    n = len(labels)
    if n == 0:
        raise ValueError("no samples to score")
    exits = sorted(preds_by_exit)
    last = exits[-1]
    right = {k: [p == y for p, y in zip(preds_by_exit[k], labels, strict=True)] for k in exits}
    out: dict[str, float] = {f"acc_exit_{k}": 100.0 * sum(right[k]) / n for k in exits}
    out["acc_final"] = out[f"acc_exit_{last}"]
    out["acc_policy"] = 100.0 * sum(p == y for p, y in zip(pred_policy, labels, strict=True)) / n
    out["acc_oracle"] = 100.0 * sum(any(right[k][i] for k in exits) for i in range(n)) / n
    out["acc_gain_from_exits_pts"] = out["acc_policy"] - out["acc_final"]
    earlier_right = [any(right[k][i] for k in exits[:-1]) for i in range(n)]
    out["overthinking_destructive_pct"] = 100.0 * sum(
        e and not right[last][i] for i, e in enumerate(earlier_right)) / n
    out["overthinking_wasteful_pct"] = 100.0 * sum(
        e and right[last][i] for i, e in enumerate(earlier_right)) / n
    out["avg_exit_layer"] = sum(exit_layer) / n
    return out
