"""The regression baseline: a JSON snapshot of one run, with the tolerances that gate it.

Format (`results/baseline.json`)::

    {
      "format": "beexbench-baseline",
      "version": 2,
      "source": {"run_id": ..., "git_sha": ..., "host": ..., "target": ..., "device": ...,
                 "preset": ..., "dataset": ..., "runtime": ...},
      "defaults": {"rel_tol": ..., "acc_abs_tol": ..., "exit_abs_tol": ...,
                   "exit_share_tol": ..., "noisy_factor": 1.1, "noisy_p": 0.002},
      "entries": {
        "<model>/<policy>/<metric>/<stat>": {
          "gate": "structural" | "learned" | "noisy" | "info",
          "value": <float>, "unit": "<unit>", "batch_size": <int>,
          "better": "higher" | "lower" | "none",
          "samples": "<samples key>",  # noisy, optional: raw samples for Mann-Whitney U
          # optional per-entry overrides of "defaults":
          "rel_tol": <float>,          # structural
          "abs_tol": <float>,          # learned, acc_abs_tol or exit_abs_tol figures
          "share_tol": <float>,        # learned, exit_share_tol figures
          "factor": <float>            # noisy
        }, ...
      },
      "samples": {"<model>/<policy>/<metric>/<batch_size>": [<float>, ...], ...}
    }

Keys are model/policy/metric/stat. Where one run holds several rows for a key (two
runtimes, targets or batch sizes), `;runtime=...`, `;target=...` or `;batch_size=...`
is appended for each field that differs.

The gate class of every figure comes from the metric catalogue
(`beexbench.measure.catalog`); `gate` in an entry records it for the reader. Gates
(`compare` applies them):

- structural: sizes, parameter counts, op counts per exit and their ratios. Fixed by
  the architecture, so any change beyond `rel_tol` (1e-12: float text round trips
  only), either way, fails: update the baseline when it is intended.
- learned: accuracies, rates, exit depths, expected ops, sweeps. Training is not
  bit-identical across CPUs (other SIMD paths, another reduction order), so each
  figure is gated within the tolerance its catalogue entry names: `acc_abs_tol`
  (points), `exit_abs_tol` (blocks) or `exit_share_tol` (a share of the eval samples
  moving between the shallowest and deepest exit, times the figure's span over the
  forced exits). The defaults were set above the spread measured by training the
  tiny models from scratch under other thread counts and ATEN_CPU_CAPABILITY values
  (`python -m beexbench.regress.spread`). A move beyond the tolerance fails in either
  direction, reported as `regressed` or `improved`: it is a change in training, not
  drift, and the baseline must be rebuilt with it.
- noisy: latency, throughput, memory, energy. Flagged only when the ratio (worse
  over better) exceeds `factor` AND, where both sides have raw samples, a
  Mann-Whitney U test agrees (p <= noisy_p), asv's rule; without raw samples on
  both sides the ratio alone decides, as in asv. Informational unless the caller
  gates on them (`--gate-noisy`).
- info: a metric this version's catalogue does not know: reported when it moves,
  never fails.

`--update` rewrites the entries from the run and keeps the old file's "defaults" and
per-entry overrides.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from beexbench.core.atomic import atomic_write_text
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, load_json, one_line
from beexbench.measure import catalog as M
from beexbench.results.rundir import Run

FORMAT = "beexbench-baseline"
VERSION = 2
INFO = "info"
DEFAULTS: dict[str, float] = {
    "rel_tol": 1e-12,
    # Learned tolerances, set above the largest drift measured when the tiny models were
    # trained from scratch under other conditions (ATEN_CPU_CAPABILITY avx2 and default
    # with MKL and oneDNN on AVX2, 2 training threads instead of 1): 2.3 points of
    # accuracy or rate, 0.0024 blocks of average exit depth, and 0.074 of the samples'
    # exits for the figures weighted by the exit distribution.
    "acc_abs_tol": 4.0,
    "exit_abs_tol": 0.1,
    "exit_share_tol": 0.15,
    "noisy_factor": 1.1,
    "noisy_p": 0.002,
}
KINDS = (*M.GATES, INFO)
# Extra fields that may tell apart rows of one model/policy/metric/stat.
DISAMBIGUATE = ("runtime", "target", "host", "batch_size", "seed")


def classify(metric: str, stat: str = "value") -> tuple[str, str]:
    """(gate class, better) of a results row, from the catalogue; evidence stats (a
    test's p) and metrics the catalogue does not know are informational."""
    entry = M.lookup(metric)
    if entry is None or stat in M.UNGATED_STATS:
        return INFO, M.NONE
    return entry.gate, entry.better


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


def run_samples(run: Run, model: str, policy: str, metric: str, batch_size: int,
                runtime: str | None = None, seed: str = "") -> list[float]:
    """Raw samples of one figure from the run's samples file of the model (under
    `runtime` and `seed`, where given), or [] when absent."""
    df = run.samples_for(model, runtime, seed)
    if df is None:
        return []
    hit = df[(df["policy"] == policy) & (df["metric"] == metric) & (df["batch_size"] == batch_size)]
    return [float(v) for v in hit["value"]]


TOLERANCES = ("rel_tol", "abs_tol", "share_tol", "factor")
# The per-entry override of each catalogue tolerance kind.
OVERRIDE = {"acc_abs_tol": "abs_tol", "exit_abs_tol": "abs_tol", "exit_share_tol": "share_tol"}


def tolerance(metric: str, entry: dict[str, Any], defaults: dict[str, float],
              stat: str = "value") -> float | None:
    """The tolerance that applies to an entry: its own override, else the default."""
    gate, _ = classify(metric, stat)
    if gate == M.STRUCTURAL:
        return float(entry.get("rel_tol", defaults["rel_tol"]))
    if gate == M.LEARNED:
        kind = M.lookup(metric).tolerance
        return float(entry.get(OVERRIDE[kind], defaults[kind]))
    if gate == M.NOISY:
        return float(entry.get("factor", defaults["noisy_factor"]))
    return None


def key_metric(key: str) -> str:
    """The metric named by a baseline key."""
    return key.split(";")[0].split("/")[2]


def key_stat(key: str) -> str:
    """The stat named by a baseline key."""
    return key.split(";")[0].split("/", 3)[3]


def build_baseline(run: Run, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A baseline of `run`; defaults and per-entry tolerances of `previous` are kept."""
    previous = previous or {}
    defaults = {**DEFAULTS, **previous.get("defaults", {})}
    old_entries = previous.get("entries", {})
    results = run.results
    entries: dict[str, Any] = {}
    samples: dict[str, list[float]] = {}
    for key, (_, row) in zip(row_keys(results), results.iterrows(), strict=True):
        gate, better = classify(row["metric"], row["stat"])
        batch = int(float(row["batch_size"])) if row["batch_size"] else 1
        entry: dict[str, Any] = {"gate": gate, "value": _value(row["value"]), "unit": row["unit"],
                                 "batch_size": batch, "better": better}
        old = old_entries.get(key, {})
        if old.get("gate") == gate:
            entry.update({t: old[t] for t in TOLERANCES if t in old})
        if gate == M.NOISY:
            raw = run_samples(run, row["model"], row["policy"], row["metric"], batch,
                              row["runtime"], row["seed"])
            if raw:
                skey = samples_key(row["model"], row["policy"], row["metric"], batch)
                # Runs of several runtimes or seeds: one sample list each, named as its key.
                skey += key[len(key.split(";")[0]):]
                samples[skey] = raw
                entry["samples"] = skey
        entries[key] = entry
    source = {f: ", ".join(sorted(set(results[f]))) for f in
              ("run_id", "git_sha", "host", "target", "device", "preset", "dataset", "runtime")}
    return {"format": FORMAT, "version": VERSION, "source": source, "defaults": defaults,
            "entries": entries, "samples": samples}


MAX_BYTES = 256 << 20  # a baseline of every model, runtime and seed is a few MB


def _value(text: Any) -> float:
    """A results value as a float; an empty one (no measurement) is NaN."""
    return float(text) if str(text).strip() else math.nan


def _entry(key: str, fields: Fields, samples: dict[str, Any]) -> dict[str, Any]:
    if len(key.split(";")[0].split("/", 3)) != 4:
        raise UsageError(f"{fields.where}: entry {key!r}: key must be model/policy/metric/stat")
    entry = fields.as_dict()
    entry["gate"] = fields.str("gate", choices=KINDS)
    raw = fields.raw("value")
    # null: the run had no measurement there (a figure that did not resolve)
    entry["value"] = math.nan if raw is None else fields.float("value")
    fields.str("unit")
    fields.str("better", choices=(M.HIGHER, M.LOWER, M.NONE), default=M.NONE)
    fields.int("batch_size", min=1, default=1)
    for tol in TOLERANCES:
        fields.float(tol, min=0.0, default=0.0)
    name = fields.str("samples", default=None)
    if name is not None and name not in samples:
        raise fields.fail("samples", f"names {name!r}, which is not in \"samples\"")
    return entry


def validate(data: Any, path: str) -> dict[str, Any]:
    """Check the structure, types and ranges of a loaded baseline; raise UsageError naming
    the field that is wrong."""
    where = f"baseline {path}"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{where}: not a beexbench baseline (no \"format\": \"{FORMAT}\")")
    top = Fields(data, where=where)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
        raise UsageError(f"{where}: unsupported version {version!r} "
                         f"(this beexbench reads {VERSION})")
    source = top.obj("source", default=None)
    if source is not None:
        for name in source.keys():
            source.str(name)
    defaults = top.obj("defaults", default=None)
    if defaults is not None:
        unknown = set(defaults.keys()) - set(DEFAULTS)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise UsageError(one_line(f"{where}: unknown \"defaults\": {names} "
                                      f"(valid: {', '.join(DEFAULTS)})"))
        for name in defaults.keys():
            defaults.float(name, min=0.0)
    if not isinstance(data.get("entries"), dict):
        raise UsageError(f"{where}: \"entries\" must be an object keyed by "
                         "model/policy/metric/stat")
    samples = top.obj("samples", default=None)
    if samples is not None:
        for name in samples.keys():
            values = samples.list(name)
            if not all(isinstance(x, int | float) and not isinstance(x, bool)
                       and math.isfinite(x) for x in values):
                raise samples.fail(name, "must be a list of finite numbers")
    entries = top.obj("entries")
    # null stands for absent: readers then find the empty object they expect
    for name in ("source", "defaults", "samples"):
        if data.get(name) is None:
            data[name] = {}
    data["entries"] = {key: _entry(key, entries.obj(key), data["samples"])
                       for key in entries.keys()}
    return data


def load_baseline(path: str) -> dict[str, Any]:
    """Read and validate a baseline file; raise UsageError on a missing or malformed one."""
    if not os.path.lexists(path):
        raise UsageError(f"baseline {path} does not exist (write one with --update)")
    return validate(load_json(Path(path), what="baseline", max_bytes=MAX_BYTES), path)


def _json_ready(baseline: dict[str, Any]) -> dict[str, Any]:
    """NaN values (no measurement) as null: the file stays strict JSON."""
    entries = {k: {**e, "value": None if math.isnan(e["value"]) else e["value"]}
               for k, e in baseline["entries"].items()}
    return {**baseline, "entries": entries}


def write_baseline(path: str, baseline: dict[str, Any]) -> None:
    """Write atomically (temp file, fsync, rename): an interrupted update keeps the old file."""
    text = json.dumps(_json_ready(baseline), indent=1, sort_keys=False, allow_nan=False)
    atomic_write_text(Path(path), text + "\n", what="baseline")
