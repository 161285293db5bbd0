"""Drive one sweep: open the sweep directory, work out what is left, hand it to the
executor, and record every outcome in the sweep directory as it arrives."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.sweep.cells import CellSpec
from beexbench.sweep.config import SweepConfig
from beexbench.sweep.executor import Executor, Work
from beexbench.sweep.plan import MeasureCell, Plan, TrainJob, build_plan
from beexbench.sweep.store import SweepStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOutcome:
    root: Path
    done: list[str]
    missing: dict[str, str]  # cell name -> reason
    trained: list[str]  # checkpoints trained by this invocation


class Recorder:
    """The executor's events, written to the sweep store as they arrive."""

    def __init__(self, store: SweepStore, cfg: SweepConfig, quiet: bool) -> None:
        self.store, self.cfg, self.quiet = store, cfg, quiet
        self.missing: dict[str, str] = {}
        self.trained_now: list[str] = []
        self.failed_jobs: dict[TrainJob, str] = {}

    def say(self, message: str) -> None:
        if not self.quiet:
            log.info(message)

    def trained(self, job: TrainJob, info: dict) -> None:
        if info.get("trained"):
            self.trained_now.append(job.name)
            self.say(f"[sweep] trained {job.name} on {info.get('host')}")
        self.store.record_training(job.name, info)

    def training_failed(self, job: TrainJob, reason: str) -> None:
        self.failed_jobs[job] = reason
        self.store.record_training(job.name, {"trained": False, "failed": reason})
        self.say(f"[sweep] training {job.name} failed: {reason}")

    def cell_started(self, cell: MeasureCell) -> None:
        self.store.start_cell(cell.name)

    def cell_done(self, cell: MeasureCell, outcome: dict) -> None:
        config = run_config(self.store, self.cfg, cell.target, cell.seed)
        try:
            self.store.commit_cell(cell.target, cell.model, cell.seed, config, outcome)
        except UsageError as exc:  # what came back is not this cell's run directory
            self.cell_failed(cell, str(exc))
            return
        self.say(f"[sweep] {cell.name} done on {outcome.get('host')}")

    def cell_failed(self, cell: MeasureCell, reason: str, state: str = "failed") -> None:
        self.missing[cell.name] = reason
        self.store.mark_cell(cell.name, state, reason)
        self.say(f"[sweep] {cell.name} {state}: {reason}")


def run_config(store: SweepStore, cfg: SweepConfig, target: str, seed: int) -> dict:
    """config.json of one (target, seed) run directory: the bench config of all models."""
    config = {"run_id": store.run_id(target, seed), **cfg.bench_config(target, seed).to_dict()}
    return json.loads(json.dumps(config))


def sweep_record(cfg: SweepConfig, plan: Plan) -> dict:
    """What sweep.json holds besides its format and id (compared on resume)."""
    return json.loads(json.dumps({"config": cfg.to_dict(), "plan": plan.to_dict()}))


def run_sweep(cfg: SweepConfig, out: Path, resume: bool, executor: Executor,
              quiet: bool) -> SweepOutcome:
    """Run every cell of `cfg` not done yet; each checkpoint is trained at most once."""
    plan = build_plan(cfg)
    store = SweepStore.open(out, sweep_record(cfg, plan), resume)
    recorder = Recorder(store, cfg, quiet)
    try:
        for model in plan.skipped:
            recorder.say(f"[sweep] {model}: no runtime of --runtimes applies; skipped")
        for target, seed in sorted({(c.target, c.seed) for c in plan.cells}):
            if store.run_dir(target, seed).is_dir():
                store.check_run(target, seed, run_config(store, cfg, target, seed),
                                cfg.bench_config(target, seed), recorder.say)
        todo = [c for c in plan.cells if not store.is_done(c.target, c.model, c.seed)]
        for cell in plan.cells:  # status.json follows the run directories, never leads them
            if cell not in todo and store.status["cells"].get(cell.name, {}).get(
                    "state") != "done":
                store.mark_cell(cell.name, "done")
        if len(todo) < len(plan.cells):
            recorder.say(f"[sweep] {len(plan.cells) - len(todo)} of {len(plan.cells)} cells "
                         f"done in an earlier attempt; skipped")
        blocked = executor.unschedulable(tuple(sorted({c.target for c in todo})))
        for cell in todo:
            if cell.target in blocked:
                recorder.cell_failed(cell, blocked[cell.target], "unschedulable")
        todo = [c for c in todo if c.target not in blocked]
        requests = {c.job: cfg.train_request(c.model, c.seed) for c in todo}
        cells = [(c, CellSpec(c.name, cfg.bench_config(c.target, c.seed, (c.model,)),
                              store.run_id(c.target, c.seed),
                              requests[c.job].checkpoint_dir().name)) for c in todo]
        executor.execute(Work(requests, cells), recorder)
        for cell in todo:
            if cell.job in recorder.failed_jobs:
                recorder.cell_failed(cell, f"its checkpoint did not train: "
                                           f"{recorder.failed_jobs[cell.job]}")
        done = [c.name for c in plan.cells if store.is_done(c.target, c.model, c.seed)]
        missing = {c.name: recorder.missing.get(c.name, "not run")
                   for c in plan.cells if c.name not in done}
        return SweepOutcome(out, done, missing, recorder.trained_now)
    finally:
        store.release()
