"""A run directory: tidy results.csv, config/environment JSON, resumable per model.

Crash safety: results.csv is rewritten atomically (temp file, fsync, rename) each
time a model finishes, and `progress.json` (also atomic) lists the finished models.
A run killed at any point leaves every finished model's rows intact; `--resume`
drops any rows of an unfinished model and measures it again, so no row is
duplicated. A unit of work is one model at one training seed. A lock file keeps two
live runs out of one directory.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

from harness.errors import UsageError
from harness.results.atomic import atomic_write_text
from harness.results.schema import RESULT_COLUMNS

LOCK = "run.lock"
PROGRESS = "progress.json"
RESULTS = "results.csv"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take_lock(path: Path, what: str) -> None:
    """Create the lock file `path` holding our pid; a stale one (its process gone) is
    taken over, a live one is a UsageError naming `what`."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise UsageError(f"{what} is in use by process {pid}") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return
    raise UsageError(f"{what}: cannot take its lock")


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: list[dict[str, str]] = []
        self.done: list[str] = []

    @classmethod
    def open(cls, root: Path, resume: bool, force: bool = False) -> RunStore:
        """Create a new run directory, or reopen one with resume, or (force) replace a
        finished or abandoned run; an existing directory is refused otherwise."""
        store = cls(root)
        if root.exists() and not root.is_dir():
            raise UsageError(f"--out {root}: exists and is not a directory")
        if resume and force:
            raise UsageError("give --resume or --force, not both")
        existing = root.is_dir() and any(root.iterdir())
        if existing and force:
            store._replace()
            existing = False
        if existing and not resume:
            raise UsageError(f"run directory {root} already exists; pass --resume to continue "
                             f"it, --force to replace it, or choose another --out")
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"--out {root}: not writable ({exc.strerror})") from None
        store._lock()
        if existing:
            store._load()
        return store

    def _lock(self) -> None:
        take_lock(self.root / LOCK, f"run directory {self.root}")

    def _replace(self) -> None:
        """Empty a run directory for a new run; refuse one that holds anything else."""
        if not (self.root / "config.json").is_file():
            raise UsageError(f"--force: {self.root} is not a run directory (no config.json); "
                             "not replacing it")
        self._lock()  # refuses a directory that a live run is writing
        for entry in self.root.iterdir():
            if entry.name == LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        self.release()

    def release(self) -> None:
        (self.root / LOCK).unlink(missing_ok=True)

    def _load(self) -> None:
        progress = self.root / PROGRESS
        if progress.exists():
            try:
                self.done = list(json.loads(progress.read_text())["done"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UsageError(f"{progress}: malformed; cannot resume this run") from None
        results = self.root / RESULTS
        if results.exists():
            reader = csv.DictReader(io.StringIO(results.read_text()))
            if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
                raise UsageError(f"{results}: columns differ from this version's; cannot resume")
            # Rows of a model that did not finish are measured again.
            self.rows = [r for r in reader if unit_key(r["model"], r["seed"]) in self.done]

    def is_done(self, model: str, seed: int) -> bool:
        return unit_key(model, seed) in self.done

    def commit_model(self, model: str, seed: int, rows: list[dict[str, object]]) -> None:
        """Append a finished model's rows and mark it done (two atomic writes, in order)."""
        self.rows += [{c: _fmt(r.get(c, "")) for c in RESULT_COLUMNS} for r in rows]
        self._write_results()
        self.done.append(unit_key(model, seed))
        atomic_write_text(self.root / PROGRESS, json.dumps({"done": self.done}, indent=1))

    def _write_results(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.root / RESULTS, buf.getvalue())

    def write_json(self, name: str, payload: dict) -> None:
        atomic_write_text(self.root / name, json.dumps(payload, indent=2, default=str))


def unit_key(model: str, seed: int | str) -> str:
    """The progress.json name of one model at one seed."""
    return f"{model}@seed-{seed}"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
