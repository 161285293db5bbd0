"""The executor interface: what the sweep driver asks of `local` and `ray`.

The driver hands an executor the work that is still to do (`Work`) and an `Events`
sink; the executor trains the checkpoints the cells need (each once), runs every cell
on a node that offers its target, one measuring cell per node at a time, and reports
each outcome through the sink. Every training finishes before the first measuring cell
starts, so no timing loop shares a machine with a training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from beexbench.sweep.cells import CellSpec
from beexbench.sweep.plan import MeasureCell, TrainJob
from beexbench.train.loop import TrainRequest


@dataclass(frozen=True)
class Work:
    requests: dict[TrainJob, TrainRequest]  # the checkpoints the cells below need
    cells: list[tuple[MeasureCell, CellSpec]]


class Events(Protocol):
    def trained(self, job: TrainJob, info: dict) -> None:
        """A checkpoint is in the driver's cache (`info["trained"]`: trained just now)."""

    def training_failed(self, job: TrainJob, reason: str) -> None: ...

    def cell_started(self, cell: MeasureCell) -> None: ...

    def cell_done(self, cell: MeasureCell, outcome: dict) -> None:
        """`outcome["run"]`: the tar bytes of the cell's run directory."""

    def cell_failed(self, cell: MeasureCell, reason: str, state: str = "failed") -> None: ...


class Executor(Protocol):
    name: str

    def unschedulable(self, targets: tuple[str, ...]) -> dict[str, str]:
        """target -> why no node can measure it (targets that can be measured are absent)."""

    def execute(self, work: Work, events: Events) -> None: ...

    def close(self) -> None: ...
