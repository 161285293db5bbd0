"""Accuracy per exit, under the policy, oracle, and the overthinking rates (Kaya et al.).

Every figure is computed from the columns of a predictions file, so it can be
recomputed from `predictions/<model>.csv` alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.metrics import catalog as M


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
    out: dict[str, float] = {M.ACC_EXIT.at(k): 100.0 * sum(right[k]) / n for k in exits}
    out[M.ACC_FINAL.name] = out[M.ACC_EXIT.at(last)]
    out[M.ACC_POLICY.name] = 100.0 * sum(
        p == y for p, y in zip(pred_policy, labels, strict=True)) / n
    out[M.ACC_ORACLE.name] = 100.0 * sum(any(right[k][i] for k in exits) for i in range(n)) / n
    out[M.ACC_GAIN_FROM_EXITS.name] = out[M.ACC_POLICY.name] - out[M.ACC_FINAL.name]
    earlier_right = [any(right[k][i] for k in exits[:-1]) for i in range(n)]
    out[M.OVERTHINKING_DESTRUCTIVE.name] = 100.0 * sum(
        e and not right[last][i] for i, e in enumerate(earlier_right)) / n
    out[M.OVERTHINKING_WASTEFUL.name] = 100.0 * sum(
        e and right[last][i] for i, e in enumerate(earlier_right)) / n
    out[M.AVG_EXIT_LAYER.name] = sum(exit_layer) / n
    return out
