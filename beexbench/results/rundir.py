"""Read and validate a run directory written by `beexbench bench`.

A run directory holds results.csv (the tidy rows, columns RESULT_COLUMNS),
config.json, environment.json, predictions/<model>.csv or
predictions/<model>__<policy>.csv, and optionally samples/<model>.csv with the raw
per-iteration samples (policy, metric, batch_size, value). Only results.csv is
required; everything else is read when present. Those files belong to the first
runtime a model ran under (the runtime of its first rows); a run of several runtimes
keeps the files of each further one in predictions/<runtime>/ and samples/<runtime>/.
A run of several seeds keeps each seed's files, laid out the same way, one level
down: predictions/seed-<S>/, samples/seed-<S>/.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from beexbench.core.errors import UsageError
from beexbench.measure import catalog as M
from beexbench.results.layout import (
    CONFIG,
    ENVIRONMENT,
    PREDICTIONS,
    PROGRESS,
    RESULTS,
    RUN_FORMAT_KEY,
    RUN_FORMATS,
    SAMPLES,
)
from beexbench.results.schema import RESULT_COLUMNS

PREDICTION_REQUIRED = ("id", "label", "exit_layer", "pred_policy")
SAMPLE_COLUMNS = ("policy", "metric", "batch_size", "value")


@dataclass
class Run:
    """One run directory, loaded.

    `results` has every column as text exactly as stored, plus `value` as a float
    (parsed with Python's correctly rounded float(), so it round-trips) and
    `value_text`, the stored text of the value.
    """

    path: Path
    results: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    # (model, policy or None, seed, runtime folder or None) -> predictions table. policy
    # None: the file names none; seed "": a one-seed run; runtime None: the model's first.
    predictions: dict[tuple[str, str | None, str, str | None], pd.DataFrame] = field(
        default_factory=dict)
    # (model, seed, runtime folder or None) -> raw samples table
    samples: dict[tuple[str, str, str | None], pd.DataFrame] = field(default_factory=dict)

    @property
    def run_ids(self) -> list[str]:
        return sorted(set(self.results["run_id"]))

    @functools.cached_property
    def _first_runtimes(self) -> dict[str, str]:
        # Read once: the readers below ask per file, and a run holds thousands of rows.
        firsts = self.results.drop_duplicates("model")
        return {str(m): str(r) for m, r in zip(firsts["model"], firsts["runtime"],
                                                strict=True)}

    @functools.cached_property
    def _only_seed(self) -> str:
        seeds = sorted(set(self.results["seed"]))
        return seeds[0] if len(seeds) == 1 else ""

    def first_runtime(self, model: str) -> str | None:
        """The runtime whose files carry no runtime folder: the model's first measured."""
        return self._first_runtimes.get(model)

    def file_seed(self, seed: str) -> str:
        """The seed of a file: its folder's, or in a one-seed run the run's only seed."""
        return seed or self._only_seed

    def all_samples(self) -> list[tuple[str, str, str | None, pd.DataFrame]]:
        """(model, seed, runtime, raw samples) of every samples file."""
        return [(m, self.file_seed(s), r or self.first_runtime(m), df)
                for (m, s, r), df in self.samples.items()]

    def all_predictions(self) -> list[tuple[str, str | None, str, str | None, pd.DataFrame]]:
        """(model, policy or None, seed, runtime, table) of every predictions file."""
        return [(m, p, self.file_seed(s), r or self.first_runtime(m), df)
                for (m, p, s, r), df in self.predictions.items()]

    def samples_for(self, model: str, runtime: str | None = None,
                    seed: str = "") -> pd.DataFrame | None:
        """The samples file of a model under a runtime (None: its first) and seed."""
        for m, s, r, df in self.all_samples():
            if m == model and (runtime is None or r == runtime) and (not seed or s == seed):
                return df
        return None

    def summary(self) -> pd.DataFrame:
        """The wide summary: one row per model x target x policy x runtime (summary.csv)."""
        from beexbench.results.summary import build_summary

        return build_summary(self.results)

    def default_policy(self, model: str) -> str | None:
        """The policy that carries the model's policy-independent rows (its default)."""
        rows = self.results[self.results["model"] == model]
        if rows.empty:
            return None
        sized = rows[rows["metric"] == M.MODEL_BYTES.name]
        if not sized.empty:
            return str(sized["policy"].iloc[0])
        return str(rows["policy"].value_counts().index[0])


def _read_csv_text(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():  # a folder or FIFO in its place: refused, never opened
        raise UsageError(f"{path}: {what} is not a regular file")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path}: empty {what} (no header row)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: malformed {what}: {first}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what}: {exc.strerror}") from None


def _require_columns(df: pd.DataFrame, required: tuple[str, ...], path: Path) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UsageError(f"{path}: missing columns: {', '.join(missing)}")


def _parse_floats(texts: pd.Series, path: Path, column: str,
                  empty_ok: bool = False) -> list[float]:
    """Floats of a column; with `empty_ok` an empty text (no measurement) is NaN."""
    values = []
    for line, text in enumerate(texts, start=2):
        if empty_ok and not text.strip():
            values.append(float("nan"))
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise UsageError(f"{path}: line {line}: {column} {text!r} is not a number") from None
    return values


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_results(path: Path) -> pd.DataFrame:
    """results.csv as text columns, with `value` parsed to float and `value_text` kept."""
    df = _read_csv_text(path, RESULTS)
    if "seed" not in df.columns and "run_id" in df.columns:
        df["seed"] = ""  # written before runs recorded their seed
    if "note" not in df.columns and "run_id" in df.columns:
        df["note"] = ""  # written before rows could be left without a value
    _require_columns(df, RESULT_COLUMNS, path)
    empty = (df["value"].str.strip() == "") & (df["note"].str.strip() == "")
    if empty.any():
        line = int(empty.to_numpy().nonzero()[0][0]) + 2
        raise UsageError(f"{path}: line {line}: value is empty and no note says why")
    df["value_text"] = df["value"]
    df["value"] = _parse_floats(df["value"], path, "value", empty_ok=True)
    bad = [v for v in df["estimated"] if v not in ("true", "false")]
    if bad:
        raise UsageError(f"{path}: estimated must be 'true' or 'false', found {bad[0]!r}")
    return df


def _layout(directory: Path) -> list[tuple[str, str | None, Path]]:
    """(seed, runtime folder or None, file) of every CSV under `directory`: directly in
    it, in a runtime folder, and the same inside each seed-<S>/ folder."""
    def walk(folder: Path, seed: str) -> list[tuple[str, str | None, Path]]:
        found: list[tuple[str, str | None, Path]] = [
            (seed, None, p) for p in sorted(folder.glob("*.csv")) if p.is_file()]
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if not seed and sub.name.startswith("seed-"):
                found += walk(sub, sub.name[len("seed-"):])
            else:
                found += [(seed, sub.name, p) for p in sorted(sub.glob("*.csv")) if p.is_file()]
        return found

    return walk(directory, "") if directory.is_dir() else []


def _read_predictions(directory: Path
                      ) -> dict[tuple[str, str | None, str, str | None], pd.DataFrame]:
    out: dict[tuple[str, str | None, str, str | None], pd.DataFrame] = {}
    for seed, runtime, path in _layout(directory):
        model, _, policy = path.stem.partition("__")
        out[(model, policy or None, seed, runtime)] = read_predictions_file(path)
    return out


def _require_whole(path: Path, df: pd.DataFrame, what: str) -> None:
    """A file the harness wrote ends with a newline and leaves no field empty: a file cut
    short by a crash or an edit parses (pandas pads a short row), but is no record."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                raise UsageError(f"{path}: {what} is cut short (it does not end with a newline)")
    empty = (df == "").to_numpy().nonzero()
    if len(empty[0]):
        line, column = int(empty[0][0]) + 2, df.columns[int(empty[1][0])]
        raise UsageError(f"{path}: {what}: line {line} has no {column} (cut short?)")


def read_predictions_file(path: Path) -> pd.DataFrame:
    """One predictions/<model>.csv, checked; exit_layer as int."""
    df = _read_csv_text(path, "predictions file")
    _require_columns(df, PREDICTION_REQUIRED, path)
    _require_whole(path, df, "predictions file")
    exit_layer = _parse_floats(df["exit_layer"], path, "exit_layer")
    if any(not math.isfinite(v) for v in exit_layer):
        raise UsageError(f"{path}: exit_layer has an empty or non-finite value")
    df["exit_layer"] = [int(v) for v in exit_layer]
    return df


def read_samples_file(path: Path) -> pd.DataFrame:
    """One samples/<model>.csv, checked; value as float, batch_size as int."""
    df = _read_csv_text(path, "samples file")
    _require_columns(df, SAMPLE_COLUMNS, path)
    _require_whole(path, df, "samples file")
    df["value"] = _parse_floats(df["value"], path, "value")
    batch = _parse_floats(df["batch_size"], path, "batch_size")
    if any(not math.isfinite(v) for v in batch):
        raise UsageError(f"{path}: batch_size has a non-finite value")
    df["batch_size"] = [int(v) for v in batch]
    return df


def _read_samples(directory: Path) -> dict[tuple[str, str, str | None], pd.DataFrame]:
    out: dict[tuple[str, str, str | None], pd.DataFrame] = {}
    for seed, runtime, path in _layout(directory):
        out[(path.stem, seed, runtime)] = read_samples_file(path)
    return out


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a directory `beexbench bench` wrote."""
    return (path / RESULTS).is_file() and (
        (path / CONFIG).exists() or (path / PROGRESS).exists())


def check_format(config: dict[str, Any], where: Path) -> None:
    """Refuse a run directory written in a format this beexbench does not read."""
    version = config.get(RUN_FORMAT_KEY, 1)
    if version not in RUN_FORMATS:
        raise UsageError(f"{where}: run format {version!r}; this beexbench reads run formats "
                         f"{', '.join(map(str, RUN_FORMATS))} (a newer beexbench wrote it?)")


def load_run(path: str | Path) -> Run:
    """Load one run directory; raise UsageError naming the input on anything malformed."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"run directory {path} does not exist")
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory (expected a run directory)")
    results_path = path / RESULTS
    if not results_path.is_file():
        raise UsageError(f"{path}: no {RESULTS} (not a run directory from `beexbench bench`)")
    config = _read_json(path / CONFIG)
    check_format(config, path / CONFIG)
    return Run(
        path=path,
        results=read_results(results_path),
        config=config,
        environment=_read_json(path / ENVIRONMENT),
        predictions=_read_predictions(path / PREDICTIONS),
        samples=_read_samples(path / SAMPLES),
    )


def load_runs(paths: list[str | Path]) -> list[Run]:
    """Every run directory given, a sweep directory standing for its cells' run
    directories (beexbench.results.sweepdir.expand_sweep)."""
    from beexbench.results.sweepdir import expand_sweep

    return [load_run(p) for d in paths for p in expand_sweep(Path(d))]


def refuse_out_inside_runs(out_dir: Path, runs: list[Run], advice: str) -> None:
    """An --out folder that is a file, or lies inside a run or sweep directory (its files
    would mix with the run's), is refused; `advice` ends the line ("export outside it")."""
    from beexbench.results.sweepdir import is_sweep_dir

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: exists and is not a directory")
    where = out_dir.resolve()
    inputs = {r.path.resolve() for r in runs}
    for folder in (where, *where.parents):
        if folder in inputs or is_run_dir(folder) or is_sweep_dir(folder):  # a sweep holds runs
            raise UsageError(f"--out {out_dir}: inside the run directory {folder}; {advice}")

