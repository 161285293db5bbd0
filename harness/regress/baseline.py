"""The regression baseline: a JSON snapshot of one run, with a tolerance per figure.

Format (`results/baseline.json`)::

    {
      "format": "beexbench-baseline",
      "version": 1,
      "source": {"run_id": ..., "git_sha": ..., "host": ..., "target": ..., "device": ...,
                 "preset": ..., "dataset": ..., "runtime": ...},
      "defaults": {"rel_tol": 1e-06, "acc_abs_tol": 1.0, "exit_abs_tol": 0.1,
                   "noisy_factor": 1.1, "noisy_p": 0.002},
      "entries": {
        "<model>/<policy>/<metric>/<stat>": {
          "kind": "exact" | "accuracy" | "noisy" | "info",
          "value": <float>, "unit": "<unit>", "batch_size": <int>,
          "better": "higher" | "lower" | "none",
          "samples": "<samples key>",  # noisy, optional: raw samples for Mann-Whitney U
          # optional per-entry overrides of "defaults":
          "rel_tol": <float>,          # exact: |run - base| <= rel_tol * |base|
          "abs_tol": <float>,          # accuracy: fails when worse by more than abs_tol
          "factor": <float>            # noisy: flagged when worse by more than this ratio
        }, ...
      },
      "samples": {"<model>/<policy>/<metric>/<batch_size>": [<float>, ...], ...}
    }

Keys are model/policy/metric/stat. Where one run holds several rows for a key (two
runtimes, targets or batch sizes), `;runtime=...`, `;target=...` or `;batch_size=...`
is appended for each field that differs.

Kinds and their gates (`compare` applies them):

- exact: sizes, parameter counts, MAC/FLOP/BOP/ops counts per exit and expected,
  their ratios and flop_reduction_pct. Deterministic, so any change beyond a
  relative 1e-6, either way, fails: update the baseline when it is intended.
- accuracy: acc_*, acc_gain_from_exits_pts, overthinking rates (points, abs_tol
  1.0: one or two eval samples flipping on another CPU's float rounding must not
  fail CI, a real drop must) and avg_exit_layer (blocks, abs_tol 0.1). Only a
  change for the worse fails; a gain is reported.
- noisy: latency, throughput, memory, energy. Flagged only when the ratio (worse
  over better) exceeds `factor` AND, where both sides have raw samples, a
  Mann-Whitney U test agrees (p <= noisy_p), asv's rule; without raw samples on
  both sides the ratio alone decides, as in asv. Informational unless the caller
  gates on them (`--gate-noisy`).

Tolerances come from "defaults" (rel_tol for exact, acc_abs_tol for accuracy in
points, exit_abs_tol for avg_exit_layer in blocks, noisy_factor and noisy_p for
noisy figures) unless an entry overrides them. `--update` rewrites the entries
from the run and keeps the old file's "defaults" and per-entry overrides.
- info: anything else (metrics this version does not know): reported when it
  moves, never fails.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UsageError
from harness.report.rundir import Run
from harness.results.atomic import atomic_write_text

FORMAT = "beexbench-baseline"
VERSION = 1
DEFAULTS: dict[str, float] = {
    "rel_tol": 1e-6,
    "acc_abs_tol": 1.0,
    "exit_abs_tol": 0.1,
    "noisy_factor": 1.1,
    "noisy_p": 0.002,
}
KINDS = ("exact", "accuracy", "noisy", "info")

_EXACT = re.compile(
    r"^(params_total|params_binary|model_bytes|param_bytes_resident|size_ratio_vs_fp|"
    r"compression_ratio|flop_reduction_pct|sweep_ops_expected|"
    r"(macs|flops|bops|ops)_(exit_\d+|expected))$"
)
_ACC_HIGHER = re.compile(r"^(acc_.*|sweep_acc_policy)$")
_ACC_LOWER = re.compile(r"^overthinking_(destructive|wasteful)_pct$")
NOISY_BETTER = {
    "latency_ms": "lower", "throughput_sps": "higher", "energy_j_per_sample": "lower",
    "idle_power_w": "lower", "peak_rss_mb": "lower", "cuda_max_alloc_mb": "lower",
}
# Extra fields that may tell apart rows of one model/policy/metric/stat.
DISAMBIGUATE = ("runtime", "target", "host", "batch_size")


def classify(metric: str, stat: str) -> tuple[str, str]:
    """(kind, better) of a results row."""
    if _EXACT.match(metric):
        return "exact", "none"
    if _ACC_HIGHER.match(metric):
        return "accuracy", "higher"
    if _ACC_LOWER.match(metric) or metric == "avg_exit_layer":
        return "accuracy", "lower"
    if metric in NOISY_BETTER:
        return "noisy", NOISY_BETTER[metric]
    return "info", "none"


def row_keys(results: pd.DataFrame) -> list[str]:
    """Baseline key of every results row (see the module docstring)."""
    base = (results["model"] + "/" + results["policy"] + "/" + results["metric"] + "/"
            + results["stat"])
    keys = base.copy()
    for field in DISAMBIGUATE:
        several = results.groupby(base)[field].transform("nunique") > 1
        keys[several] = keys[several] + f";{field}=" + results.loc[several, field]
    return list(keys)


def samples_key(model: str, policy: str, metric: str, batch_size: int) -> str:
    return f"{model}/{policy}/{metric}/{batch_size}"


def run_samples(run: Run, model: str, policy: str, metric: str, batch_size: int) -> list[float]:
    """Raw samples of one figure from the run's samples/<model>.csv, or [] when absent."""
    df = run.samples.get(model)
    if df is None:
        return []
    hit = df[(df["policy"] == policy) & (df["metric"] == metric) & (df["batch_size"] == batch_size)]
    return [float(v) for v in hit["value"]]


TOLERANCES = ("rel_tol", "abs_tol", "factor")


def tolerance(entry: dict[str, Any], defaults: dict[str, float]) -> float | None:
    """The tolerance that applies to an entry: its own override, else the default."""
    kind = entry["kind"]
    if kind == "exact":
        return float(entry.get("rel_tol", defaults["rel_tol"]))
    if kind == "accuracy":
        name = "exit_abs_tol" if entry.get("unit") == "blocks" else "acc_abs_tol"
        return float(entry.get("abs_tol", defaults[name]))
    if kind == "noisy":
        return float(entry.get("factor", defaults["noisy_factor"]))
    return None


def build_baseline(run: Run, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A baseline of `run`; defaults and per-entry tolerances of `previous` are kept."""
    previous = previous or {}
    defaults = {**DEFAULTS, **previous.get("defaults", {})}
    old_entries = previous.get("entries", {})
    results = run.results
    entries: dict[str, Any] = {}
    samples: dict[str, list[float]] = {}
    for key, (_, row) in zip(row_keys(results), results.iterrows(), strict=True):
        kind, better = classify(row["metric"], row["stat"])
        batch = int(float(row["batch_size"])) if row["batch_size"] else 1
        entry: dict[str, Any] = {"kind": kind, "value": float(row["value"]), "unit": row["unit"],
                                 "batch_size": batch, "better": better}
        old = old_entries.get(key, {})
        if old.get("kind") == kind:
            entry.update({t: old[t] for t in TOLERANCES if t in old})
        if kind == "noisy":
            raw = run_samples(run, row["model"], row["policy"], row["metric"], batch)
            if raw:
                skey = samples_key(row["model"], row["policy"], row["metric"], batch)
                samples[skey] = raw
                entry["samples"] = skey
        entries[key] = entry
    source = {f: ", ".join(sorted(set(results[f]))) for f in
              ("run_id", "git_sha", "host", "target", "device", "preset", "dataset", "runtime")}
    return {"format": FORMAT, "version": VERSION, "source": source, "defaults": defaults,
            "entries": entries, "samples": samples}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate(data: Any, path: str) -> dict[str, Any]:
    """Check the structure of a loaded baseline; raise UsageError naming what is wrong."""
    def bad(why: str) -> UsageError:
        return UsageError(f"baseline {path}: {why}")

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad(f"not a beexbench baseline (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise bad(f"unsupported version {data.get('version')!r} (this beexbench reads {VERSION})")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or not all(_number(v) for v in defaults.values()):
        raise bad("\"defaults\" must map names to numbers")
    entries = data.get("entries")
    if not isinstance(entries, dict):
        raise bad("\"entries\" must be an object keyed by model/policy/metric/stat")
    samples = data.get("samples", {})
    if not isinstance(samples, dict) or not all(
            isinstance(v, list) and all(_number(x) for x in v) for v in samples.values()):
        raise bad("\"samples\" must map names to lists of numbers")
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            raise bad(f"entry {key!r} is not an object")
        if entry.get("kind") not in KINDS:
            raise bad(f"entry {key!r}: kind must be one of {', '.join(KINDS)}")
        if not _number(entry.get("value")) or math.isinf(entry["value"]):
            raise bad(f"entry {key!r}: value must be a finite number")
        for tol in ("rel_tol", "abs_tol", "factor"):
            if tol in entry and (not _number(entry[tol]) or entry[tol] < 0):
                raise bad(f"entry {key!r}: {tol} must be a number >= 0")
        if "samples" in entry and entry["samples"] not in samples:
            raise bad(f"entry {key!r}: samples {entry['samples']!r} not in \"samples\"")
    return data


def load_baseline(path: str) -> dict[str, Any]:
    """Read and validate a baseline file; raise UsageError on a missing or malformed one."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"baseline {path} does not exist (write one with --update)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"baseline {path}: malformed JSON: {exc}") from None
    except OSError as exc:
        raise UsageError(f"baseline {path}: cannot read: {exc.strerror}") from None
    return validate(data, path)


def write_baseline(path: str, baseline: dict[str, Any]) -> None:
    """Write atomically (temp file, fsync, rename): an interrupted update keeps the old file."""
    try:
        atomic_write_text(Path(path), json.dumps(baseline, indent=1, sort_keys=False) + "\n")
    except OSError as exc:
        raise UsageError(f"baseline {path}: cannot write: {exc.strerror}") from None
