"""Fix an exit policy's parameter by a sweep on the validation split.

Rule: take the best validation accuracy under the policy; among the grid values within
`tolerance` points of it, choose the one with the smallest average exit depth (the
cheapest setting that costs no more than `tolerance` accuracy). Ties go to the smaller
depth, then to the grid order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from beexbench.measure.evaluate import ExitRecord, apply_policy
from beexbench.models.exits import make_policy

TOLERANCE_PTS = 0.5


@dataclass(frozen=True)
class SweepPoint:
    param: float
    acc: float
    avg_exit_layer: float

    def to_dict(self) -> dict:
        return asdict(self)


def sweep(record: ExitRecord, labels: torch.Tensor, policy_name: str) -> list[SweepPoint]:
    policy_cls = make_policy(policy_name)
    points = []
    for value in type(policy_cls).grid or (0.0,):
        result = apply_policy(record, make_policy(policy_name, value))
        acc = 100.0 * float((result.pred_policy == labels).float().mean())
        points.append(SweepPoint(value, acc, float(result.exit_layer.float().mean())))
    return points


def choose(points: list[SweepPoint], tolerance: float = TOLERANCE_PTS) -> SweepPoint:
    best = max(p.acc for p in points)
    near = [p for p in points if p.acc >= best - tolerance]
    return min(near, key=lambda p: p.avg_exit_layer)
