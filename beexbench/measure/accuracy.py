"""Accuracy per exit, under the policy, oracle, and the overthinking rates (Kaya et al.).

Every figure is computed from the columns of a predictions file, so it can be
recomputed from `predictions/<model>.csv` alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from beexbench.measure import catalog as M
from beexbench.measure.uncertainty import bootstrap_ci, mcnemar_p


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


def accuracy_evidence(
    labels: Sequence[int],
    preds_by_exit: Mapping[int, Sequence[int]],
    pred_policy: Sequence[int],
) -> list[tuple[str, str, float]]:
    """(metric, stat, value) rows of uncertainty for the accuracy figures.

    Each accuracy figure gets its 95 % percentile-bootstrap interval over the samples
    (`ci95_low`, `ci95_high`); `acc_gain_from_exits_pts` also gets the exact McNemar p
    of policy against final exit (`p_mcnemar`).
    """
    exits = sorted(preds_by_exit)
    last = exits[-1]
    right = {k: [p == y for p, y in zip(preds_by_exit[k], labels, strict=True)] for k in exits}
    policy_right = [p == y for p, y in zip(pred_policy, labels, strict=True)]
    per_sample: dict[str, list[float]] = {M.ACC_EXIT.at(k): right[k] for k in exits}
    per_sample[M.ACC_FINAL.name] = right[last]
    per_sample[M.ACC_POLICY.name] = policy_right
    per_sample[M.ACC_ORACLE.name] = [any(right[k][i] for k in exits) for i in range(len(labels))]
    per_sample[M.ACC_GAIN_FROM_EXITS.name] = [
        float(a) - float(b) for a, b in zip(policy_right, right[last], strict=True)]
    rows = []
    for name, values in per_sample.items():
        low, high = bootstrap_ci(values, 100.0)
        rows += [(name, "ci95_low", low), (name, "ci95_high", high)]
    rows.append((M.ACC_GAIN_FROM_EXITS.name, "p_mcnemar", mcnemar_p(policy_right, right[last])))
    return rows
