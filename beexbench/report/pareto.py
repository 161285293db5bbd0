"""The Pareto front of cost against accuracy, the one definition the answer and the plots use.

A point is on the front when no other point costs at most as much and is at least as
accurate, and is strictly better in one of the two. Equal points are all kept.
"""

from __future__ import annotations

from collections.abc import Sequence


def on_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[bool]:
    """For each point (cost, accuracy), whether it is on the front."""
    points = list(zip(costs, accuracies, strict=True))
    return [not any(c <= cost and a >= acc and (c < cost or a > acc) for c, a in points)
            for cost, acc in points]
