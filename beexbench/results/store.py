"""A run directory: tidy results.csv, config/environment JSON, resumable per model.

Crash safety: results.csv is rewritten atomically (temp file, fsync, rename) each
time a model finishes, and `progress.json` (also atomic) lists the finished models.
A run killed at any point leaves every finished model's rows intact; `--resume`
drops any rows of an unfinished model and measures it again, so no row is
duplicated. A unit of work is one model at one training seed.

One live process holds a run directory: `run.lock` carries an advisory lock
(flock), which the kernel drops when its holder dies, so a lock is never mistaken
for stale while its holder lives, whatever the file holds. Resume trusts nothing it
has not checked: results.csv must parse, hold each row once, and hold rows of every
unit that progress.json lists as done. What fails is recorded in `damaged` (unit ->
reason) or `problems` (a whole file) for the caller to refuse or repair.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from pathlib import Path

from beexbench.core.atomic import atomic_write_text, sweep_temps
from beexbench.core.errors import UsageError
from beexbench.core.lock import DirLock
from beexbench.core.typed_json import Fields, load_json, read_regular_file
from beexbench.results.layout import CONFIG, PROGRESS, RESULTS, RUN_LOCK
from beexbench.results.schema import RESULT_COLUMNS

MAX_RESULTS_BYTES = 1 << 30
# A row is one measured value of one unit: these columns tell its rows apart.
ROW_KEY = ("model", "seed", "runtime", "policy", "metric", "stat", "batch_size")
_UNIT = re.compile(r"^.+@seed-\d+$")


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: list[dict[str, str]] = []
        self.done: list[str] = []
        self.damaged: dict[str, str] = {}
        self.problems: list[str] = []
        self.progress_damaged = False
        self._bad_models: dict[str, str] = {}
        self._repaired = False
        self._lock_held: DirLock | None = None

    @classmethod
    def open(cls, root: Path, resume: bool, force: bool = False) -> RunStore:
        """Create a new run directory, or reopen one with resume, or (force) replace a
        finished or abandoned run; an existing directory is refused otherwise."""
        store = cls(root)
        if root.exists() and not root.is_dir():
            raise UsageError(f"--out {root}: exists and is not a directory")
        if resume and force:
            raise UsageError("give --resume or --force, not both")
        # A lock file alone is what a run that failed before its first write leaves.
        existing = root.is_dir() and any(p.name != RUN_LOCK for p in root.iterdir())
        if existing and force:
            store._replace()
            existing = False
        if existing and not resume:
            raise UsageError(f"run directory {root} already exists; pass --resume to continue "
                             f"it, --force to replace it, or choose another --out")
        if existing:
            store._refuse_foreign()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {root}: not writable ({exc.strerror})") from None
        if store._lock_held is None:  # --force took it already
            store._lock()
        try:
            # Held exclusively now: every temporary in it is a killed writer's.
            sweep_temps(root, recursive=True, any_owner=True)
            if existing:
                store._refuse_foreign()  # again, under the lock
                store._load()
        except BaseException:
            store.release()
            raise
        return store

    # -- the lock --------------------------------------------------------------------------
    def _lock(self) -> None:
        self._lock_held = DirLock.take(self.root / RUN_LOCK, f"run directory {self.root}")

    def _replace(self) -> None:
        """Empty a run directory for a new run; refuse one that holds anything else."""
        if not (self.root / CONFIG).is_file():
            raise UsageError(f"--force: {self.root} is not a run directory (no {CONFIG}); "
                             "not replacing it")
        # Taken here and kept for the new run, so no other opener slips in between.
        self._lock()  # refuses a directory that a live run is writing
        try:
            for entry in self.root.iterdir():
                if entry.name == RUN_LOCK:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._lock_held is not None:
            self._lock_held.release()
            self._lock_held = None

    # -- what is already there -------------------------------------------------------------
    def _refuse_foreign(self) -> None:
        """A folder that holds files but no config.json was not made by `bench`."""
        if (self.root / CONFIG).exists() or (self.root / CONFIG).is_symlink():
            return
        theirs = sorted(p.name for p in self.root.iterdir() if p.name != RUN_LOCK
                        and not (p.name.startswith(".") and p.name.endswith(".tmp")))
        if theirs:
            raise UsageError(f"--out {self.root}: not a beexbench run directory (no {CONFIG}, "
                             f"holds {theirs[0]}); refusing to write there")

    def _load(self) -> None:
        self._load_progress()
        rows = self._load_results()
        if self.progress_damaged:
            # Each model's rows are written in one piece, so the models results.csv holds
            # are those that finished.
            self.done = sorted({unit_key(r["model"], r["seed"]) for r in rows})
        for unit in self.done:
            model = unit.rpartition("@seed-")[0]
            if model in self._bad_models:
                self.damaged.setdefault(unit, f"{self._bad_models[model]} ({model})")
        rows = [r for r in rows if unit_key(r["model"], r["seed"]) not in self.damaged]
        present = {unit_key(r["model"], r["seed"]) for r in rows}
        for unit in self.done:
            if unit not in present and unit not in self.damaged:
                self.damaged[unit] = (f"{PROGRESS} lists {unit} as done but {RESULTS} holds "
                                      f"no rows of it")
        # Rows of a model that did not finish are measured again.
        self.rows = [r for r in rows if unit_key(r["model"], r["seed"]) in self.done]

    def _load_progress(self) -> None:
        path = self.root / PROGRESS
        if not (path.exists() or path.is_symlink()):
            return
        try:
            fields = Fields(load_json(path, what=PROGRESS), where=f"{PROGRESS} {path}")
            done = fields.list("done")
            bad = [u for u in done if not isinstance(u, str) or not _UNIT.match(u)]
            if bad:
                raise fields.fail("done", f"entries must be names like 'model@seed-0', "
                                          f"got {bad[0]!r}")
            if len(set(done)) != len(done):
                raise fields.fail("done", "lists a unit twice")
        except UsageError as exc:
            self.problems.append(str(exc))
            self.progress_damaged = True
            return
        self.done = list(done)

    def _load_results(self) -> list[dict[str, str]]:
        """The valid rows of results.csv; each fault marks its unit (or the file) damaged."""
        path = self.root / RESULTS
        if not (path.exists() or path.is_symlink()):
            if self.done:
                self.problems.append(f"{RESULTS} {path}: missing, but {PROGRESS} lists "
                                     f"{len(self.done)} finished models")
            return []
        try:
            data = read_regular_file(path, what=RESULTS, max_bytes=MAX_RESULTS_BYTES)
            text = data.decode("utf-8")
        except UsageError as exc:
            self.problems.append(str(exc))
            return []
        except UnicodeDecodeError as exc:
            self.problems.append(f"{RESULTS} {path}: not UTF-8 text (bad byte at offset "
                                 f"{exc.start})")
            return []
        try:
            records = [(reader.line_num, fields) for reader in [csv.reader(io.StringIO(text))]
                       for fields in reader]
        except csv.Error as exc:
            self.problems.append(f"{RESULTS} {path}: not CSV ({exc})")
            return []
        if not records or tuple(records[0][1]) != RESULT_COLUMNS:
            self.problems.append(f"{RESULTS} {path}: its header is not this version's "
                                 f"columns")
            return []
        rows: list[dict[str, str]] = []
        seen: dict[tuple[str, ...], int] = {}
        for index, (number, fields) in enumerate(records[1:], start=2):
            # Written whole, the file ends with a newline: a last row without one was cut.
            cut = index == len(records) and not text.endswith("\n")
            short = cut or len(fields) != len(RESULT_COLUMNS)
            why = _row_fault(fields, cut)
            row = dict(zip(RESULT_COLUMNS, fields, strict=False))
            if why is None:
                key = tuple(row[c] for c in ROW_KEY)
                if key in seen:
                    why = f"repeats the row of line {seen[key]}"
                seen.setdefault(key, number)
            if why is None:
                rows.append(row)
                continue
            fault = f"{RESULTS} {path}: line {number} {why}"
            if short:
                # A short row may have lost its seed, or its model too: every unit it
                # could belong to is damaged.
                model = row.get("model", "")
                if not model:
                    self.problems.append(fault)
                    return []
                self._bad_models.setdefault(model, fault)
            else:
                unit = unit_key(row["model"], row["seed"])
                self.damaged.setdefault(unit, f"{fault} ({unit})")
        return rows

    # -- writing ---------------------------------------------------------------------------
    def is_done(self, model: str, seed: int) -> bool:
        return unit_key(model, seed) in self.done

    def forget(self, units: set[str]) -> None:
        """Drop the rows and the done mark of `units`, to measure them again (--repair).

        Only in memory: the files change with the next unit's commit (or `flush`), so a
        repair that fails early leaves the run as it found it."""
        self.rows = [r for r in self.rows if unit_key(r["model"], r["seed"]) not in units]
        self.done = [u for u in self.done if u not in units]
        self.damaged = {u: why for u, why in self.damaged.items() if u not in units}
        self.problems = []
        self.progress_damaged = False
        self._repaired = True

    def flush(self) -> None:
        """Write results.csv and progress.json if a repair changed them in memory only."""
        if self._repaired:
            self._write_results()
            self._write_progress()
            self._repaired = False

    def commit_model(self, model: str, seed: int, rows: list[dict[str, object]]) -> None:
        """Append a finished model's rows and mark it done (two atomic writes, in order)."""
        self.rows += [{c: _fmt(r.get(c, "")) for c in RESULT_COLUMNS} for r in rows]
        self._write_results()
        self.done.append(unit_key(model, seed))
        self._write_progress()
        self._repaired = False

    def _write_progress(self) -> None:
        atomic_write_text(self.root / PROGRESS, json.dumps({"done": self.done}, indent=1),
                          what=PROGRESS)

    def _write_results(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.root / RESULTS, buf.getvalue(), what=RESULTS)

    def write_json(self, name: str, payload: dict) -> None:
        atomic_write_text(self.root / name, json.dumps(payload, indent=2, default=str),
                          what=name)


def _row_fault(fields: list[str], cut: bool) -> str | None:
    """Why a results.csv row cannot be trusted, or None."""
    if cut:
        return "is cut short (the file does not end with a newline)"
    if len(fields) != len(RESULT_COLUMNS):
        return f"has {len(fields)} fields, not {len(RESULT_COLUMNS)}"
    row = dict(zip(RESULT_COLUMNS, fields, strict=True))
    if not row["value"].strip():
        return None if row["note"].strip() else "has an empty value and no note says why"
    try:
        value = float(row["value"])
    except ValueError:
        return f"value {row['value']!r} is not a number"
    if math.isinf(value):
        return f"value {row['value']!r} is not finite"
    if row["estimated"] not in ("true", "false"):
        return f"estimated {row['estimated']!r} is not true or false"
    if not row["seed"].isdigit():
        return f"seed {row['seed']!r} is not a number"
    return None


def unit_key(model: str, seed: int | str) -> str:
    """The progress.json name of one model at one seed."""
    return f"{model}@seed-{seed}"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
