"""A sweep directory: the plan, each cell's state, and one run directory per (target, seed).

Its files and folders are named in beexbench.results.layout: sweep.json (format, sweep id,
config and plan, written once), status.json (where each checkpoint was trained; each
cell's state, one of CELL_STATES, and reason), <target>/seed-<S>/ (an ordinary
run directory, which `report` reads) and in it cells/<model>.json (which host measured
that cell).

Only the driver writes here. A finished cell's files are copied in first, then its rows
are committed through the run directory's own RunStore (results.csv, then progress.json,
each atomic), so a cell is either wholly in or not at all. A resumed sweep checks each
run directory as `bench --resume` does, measures again the cells whose files are damaged,
skips every other cell its run directory lists as done and runs the rest again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.core.atomic import atomic_write_bytes, atomic_write_text
from beexbench.core.errors import UsageError
from beexbench.core.lock import DirLock
from beexbench.core.typed_json import Fields, load_json
from beexbench.results.layout import (
    CELLS,
    CONFIG,
    ENVIRONMENT,
    INCOMING,
    PROGRESS,
    RESULTS,
    STATUS_FILE,
    SWEEP_FILE,
    SWEEP_FORMAT,
    SWEEP_LOCK,
)
from beexbench.results.schema import RESULT_COLUMNS
from beexbench.results.store import RunStore
from beexbench.sweep.tarball import unpack_dir

# Files of a cell's own run directory that the (target, seed) run directory keeps itself.
OWN_FILES = {RESULTS, PROGRESS, CONFIG, ENVIRONMENT}


class SweepStore:
    def __init__(self, root: Path, sweep_id: str) -> None:
        self.root, self.sweep_id = root, sweep_id
        self.status: dict[str, dict] = {"trainings": {}, "cells": {}}
        self.runs: dict[tuple[str, int], RunStore] = {}
        self.lock: DirLock | None = None

    @classmethod
    def open(cls, root: Path, sweep: dict, resume: bool) -> SweepStore:
        """Create the sweep directory, or reopen it with resume (same config only)."""
        if root.exists() and not root.is_dir():
            raise UsageError(f"--out {root}: exists and is not a directory")
        existing = root.is_dir() and any(root.iterdir())
        if existing and not resume:
            raise UsageError(f"sweep directory {root} already exists; pass --resume to "
                             f"continue it or choose another --out")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {root}: not writable ({exc.strerror})") from None
        if not os.access(root, os.W_OK):
            raise UsageError(f"--out {root}: not writable")
        lock = DirLock.take(root / SWEEP_LOCK, f"sweep directory {root}")
        path = root / SWEEP_FILE
        try:
            if path.exists():
                previous = _read_json(path)
                if previous.get("format") != SWEEP_FORMAT:
                    raise UsageError(f"{path}: not a beexbench sweep (expected {SWEEP_FORMAT})")
                if {k: previous.get(k) for k in ("config", "plan")} != sweep:
                    raise UsageError(f"{path}: the sweep was started with another config; "
                                     f"resume it with the same arguments")
                store = cls(root, str(previous["sweep_id"]))
                if (root / STATUS_FILE).exists():
                    store.status = _read_status(root / STATUS_FILE)
            elif existing:
                raise UsageError(f"--out {root}: not a sweep directory (no {SWEEP_FILE})")
            else:
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                store = cls(root, f"{stamp}-sweep-{uuid.uuid4().hex[:6]}")
                atomic_write_text(path, json.dumps(
                    {"format": SWEEP_FORMAT, "sweep_id": store.sweep_id, **sweep}, indent=2))
        except BaseException:
            lock.release()
            raise
        store.lock = lock
        shutil.rmtree(root / INCOMING, ignore_errors=True)  # left by a killed driver
        store._write_status()  # a deleted one is written again at once
        return store

    # -- run directories -------------------------------------------------------------------
    def run_dir(self, target: str, seed: int) -> Path:
        return self.root / target / f"seed-{seed}"

    def run_id(self, target: str, seed: int) -> str:
        return f"{self.sweep_id}-{target}-seed-{seed}"

    def is_done(self, target: str, model: str, seed: int) -> bool:
        progress = self.run_dir(target, seed) / PROGRESS
        if (target, seed) in self.runs:
            return self.runs[(target, seed)].is_done(model, seed)
        if not progress.is_file():
            return False
        done = Fields(load_json(progress, what=PROGRESS),
                      where=f"{PROGRESS} {progress}").list("done")
        return f"{model}@seed-{seed}" in done

    def check_run(self, target: str, seed: int, config: dict, bench: BenchConfig,
                  say: Callable[[str], None]) -> list[str]:
        """Before a resumed sweep trusts a (target, seed) run directory: bench's resume
        checks (config, rows, predictions and samples files); the cells they find damaged
        are forgotten, to be measured again. Returns their names."""
        from beexbench.bench.resume import (
            check_config,
            check_files,
            check_rows,
            runtime_labels,
            settle,
        )

        store = self._run_store(target, seed, config)
        if store.problems:  # a whole file: refused, as bench refuses it, and left as it is
            raise UsageError(f"cannot resume sweep {self.root}: {store.problems[0]}")
        run_id = check_config(store, config, repair=False)
        check_rows(store, bench, run_id)
        check_files(store, bench, runtime_labels(store))
        damaged = sorted(store.damaged)
        settle(store, repair=True, say=lambda line: say(f"[sweep] {target}/seed-{seed}: "
                                                         f"{line}"))
        cells = [f"{target}/{unit.rpartition('@seed-')[0]}/seed-{seed}" for unit in damaged]
        for name in cells:
            self.mark_cell(name, "damaged", "its files were damaged; measured again")
        return cells

    def _run_store(self, target: str, seed: int, config: dict) -> RunStore:
        if (target, seed) not in self.runs:
            store = RunStore.open(self.run_dir(target, seed), resume=True)
            if not (store.root / CONFIG).exists():
                store.write_json(CONFIG, config)
            self.runs[(target, seed)] = store
        return self.runs[(target, seed)]

    def commit_cell(self, target: str, model: str, seed: int, config: dict,
                    outcome: dict) -> None:
        """Merge one finished cell (the tar of its run directory) into its run directory."""
        name = f"{target}/{model}/seed-{seed}"
        run = self._run_store(target, seed, config)
        incoming = unpack_dir(outcome["run"], self.root / INCOMING / name.replace("/", "--"))
        try:
            rows = _cell_rows(incoming / RESULTS, target, model, seed, name)
            for path in sorted(p for p in incoming.rglob("*") if p.is_file()):
                rel = path.relative_to(incoming)
                if str(rel) not in OWN_FILES:
                    atomic_write_bytes(run.root / rel, path.read_bytes())
            environment = _read_json(incoming / ENVIRONMENT)
            if not (run.root / ENVIRONMENT).exists():
                run.write_json(ENVIRONMENT, environment)
            run.write_json(f"{CELLS}/{model}.json", {
                "cell": name, "host": outcome.get("host"), "node": outcome.get("node"),
                "seconds": outcome.get("seconds"), "began": outcome.get("began"),
                "ended": outcome.get("ended"), "environment": environment})
            run.commit_model(model, seed, rows)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        self.mark_cell(name, "done", host=outcome.get("host"))

    # -- status ----------------------------------------------------------------------------
    def mark_cell(self, name: str, state: str, reason: str = "", **extra: object) -> None:
        entry = self.status["cells"].setdefault(name, {"attempts": 0})
        entry.update(state=state, reason=reason, **extra)
        self._write_status()

    def start_cell(self, name: str) -> None:
        entry = self.status["cells"].setdefault(name, {"attempts": 0})
        entry.update(state="scheduled", reason="",
                     attempts=int(entry.get("attempts", 0)) + 1)
        self._write_status()

    def record_training(self, name: str, info: dict) -> None:
        previous = self.status["trainings"].get(name, {})
        # A checkpoint trained once stays "trained" when a later sweep run reuses it.
        if previous.get("trained"):
            info = {**info, "trained": True, "host": previous.get("host"),
                    "seconds": previous.get("seconds")}
        self.status["trainings"][name] = info
        self._write_status()

    def _write_status(self) -> None:
        atomic_write_text(self.root / STATUS_FILE, json.dumps(self.status, indent=1))

    def release(self) -> None:
        for run in self.runs.values():
            run.release()
        self.runs.clear()
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def _cell_rows(path: Path, target: str, model: str, seed: int, name: str) -> list[dict]:
    """The rows of a cell's results.csv; a cell that measured anything else is refused."""
    reader = csv.DictReader(io.StringIO(path.read_text()))
    if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
        raise UsageError(f"cell {name}: results.csv columns differ from this version's")
    rows = list(reader)
    foreign = [r for r in rows if (r["target"], r["model"], r["seed"]) != (target, model,
                                                                             str(seed))]
    if not rows or foreign:
        raise UsageError(f"cell {name}: results.csv holds no rows of this cell"
                         if not rows else f"cell {name}: results.csv holds rows of another cell")
    return rows


# The states a cell of status.json may be in.
CELL_STATES = ("scheduled", "done", "failed", "unschedulable", "damaged")


def _read_status(path: Path) -> dict:
    """status.json, typed: its two objects, and each cell's state one of CELL_STATES."""
    fields = Fields(load_json(path, what=path.name), where=f"{path.name} {path}")
    fields.obj("trainings")
    cells = fields.obj("cells")
    for name in cells.keys():
        cells.obj(name).str("state", choices=CELL_STATES)
    return fields.as_dict()


def _read_json(path: Path) -> dict:
    """A JSON object of the sweep directory, read with typed_json's checks."""
    return Fields(load_json(path, what=path.name), where=f"{path.name} {path}").as_dict()
