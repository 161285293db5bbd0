"""The `local` executor: the whole plan on this machine, no Ray.

Training goes through `bench`'s process pool (beexbench.train.pool), measuring cells run
one after another in this process, so timings never share the machine.
"""

from __future__ import annotations

import os

from beexbench.core.errors import UsageError
from beexbench.sweep.cells import measure_cell
from beexbench.sweep.executor import Events, Work


class LocalExecutor:
    name = "local"

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def unschedulable(self, targets: tuple[str, ...]) -> dict[str, str]:
        from beexbench.targets.registry import TARGETS

        out = {}
        for name in targets:
            availability = TARGETS.get(name)().available()
            if not availability.ok:
                out[name] = (f"target {name} is not available on this machine "
                             f"({availability.reason})")
        return out

    def execute(self, work: Work, events: Events) -> None:
        from beexbench.data.registry import load_dataset
        from beexbench.targets.environment import host
        from beexbench.train.loop import train_model
        from beexbench.train.pool import train_missing

        requests = list(work.requests.values())
        failed: set = set()
        if requests:
            first = requests[0]
            data = load_dataset(first.dataset, first.data_dir)
            existed = {r: r.checkpoint_dir().is_dir() for r in requests}
            train_missing([r for r in requests if not existed[r]], data,
                          len(os.sched_getaffinity(0)), self.quiet)
            for job, request in work.requests.items():
                try:
                    train_model(request, quiet=self.quiet, data=data)
                except UsageError as exc:
                    failed.add(job)
                    events.training_failed(job, str(exc))
                    continue
                events.trained(job, {
                    "checkpoint": request.checkpoint_dir().name, "trained": not existed[request],
                    "host": host()})
        for cell, spec in work.cells:
            if cell.job in failed:
                continue  # the driver reports it with its training's reason
            events.cell_started(cell)
            try:
                outcome = measure_cell(spec, None, self.quiet)
            except UsageError as exc:
                events.cell_failed(cell, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001  (one broken cell must not end the sweep)
                events.cell_failed(cell, f"{type(exc).__name__}: {exc}")
                continue
            events.cell_done(cell, {**outcome, "node": "local"})

    def close(self) -> None:
        pass
