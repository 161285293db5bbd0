"""The plan of a sweep: one training job per (model, seed), one measuring cell per
(target, model, seed). A cell needs its job's checkpoint and a node that offers its target."""

from __future__ import annotations

from dataclasses import dataclass

from beexbench.bench.runtimes import applies
from beexbench.models.registry import get_model_spec
from beexbench.sweep.config import SweepConfig


@dataclass(frozen=True)
class TrainJob:
    model: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.model}/seed-{self.seed}"


@dataclass(frozen=True)
class MeasureCell:
    target: str
    model: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.target}/{self.model}/seed-{self.seed}"

    @property
    def job(self) -> TrainJob:
        return TrainJob(self.model, self.seed)


@dataclass(frozen=True)
class Plan:
    trainings: tuple[TrainJob, ...]
    cells: tuple[MeasureCell, ...]
    skipped: tuple[str, ...] = ()  # models no runtime of the sweep applies to

    def to_dict(self) -> dict:
        return {"trainings": [j.name for j in self.trainings],
                "cells": [c.name for c in self.cells], "skipped_models": list(self.skipped)}


def build_plan(cfg: SweepConfig) -> Plan:
    """Every job and cell of `cfg`; a model that no runtime applies to is neither trained
    nor measured (as in `bench`)."""
    runs = [m for m in cfg.models if any(applies(r, get_model_spec(m)) for r in cfg.runtimes)]
    skipped = tuple(m for m in cfg.models if m not in runs)
    trainings = tuple(TrainJob(m, s) for s in cfg.seeds for m in runs)
    cells = tuple(MeasureCell(t, m, s) for t in cfg.targets for s in cfg.seeds for m in runs)
    return Plan(trainings, cells, skipped)
