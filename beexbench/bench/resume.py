"""Check a run directory before `bench --resume` trusts it, and repair it on request.

The store has checked results.csv and progress.json. Here the run's config.json must
be this run's, its rows must be of this target, preset, dataset and split, and every
finished unit's predictions and samples files must exist and parse. Anything wrong
either stops the resume (one line naming it) or, with `--repair`, sends the damaged
units back to be measured again while every sound one is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, load_json
from beexbench.measure import catalog as M
from beexbench.models.registry import get_model_spec
from beexbench.results.artifact_manifest import manifest_fault
from beexbench.results.layout import ARTIFACTS, CONFIG, PREDICTIONS, SAMPLES
from beexbench.results.rundir import read_predictions_file, read_samples_file
from beexbench.results.schema import seed_dir
from beexbench.results.store import RunStore, unit_key

# Row columns whose value every row of a run shares with the run's arguments.
_RUN_COLUMNS = ("target", "preset", "dataset", "split")


def runtime_subdir(seeds: tuple[int, ...], seed: int, runtime_label: str, first: bool) -> str:
    """Where a unit's predictions and samples go under one runtime: the seed's folder, and
    for every runtime after the model's first a folder named by its label."""
    return seed_dir(seeds, seed) + ("" if first else runtime_label)


def unit_files(cfg: BenchConfig, name: str, seed: int, labels: list[str],
               timed: set[str] | None = None) -> list[Path]:
    """Relative paths of the predictions and samples files a finished unit has written;
    `labels` are the runtime labels it ran under, its first runtime first, and `timed`
    those it was timed under (None: all): an untimed runtime writes no samples file."""
    spec = get_model_spec(name)
    files = []
    for i, runtime in enumerate(labels):
        sub = runtime_subdir(cfg.seeds, seed, runtime, first=i == 0)
        for policy in spec.policies:
            suffix = "" if policy == spec.default_policy else f"__{policy}"
            files.append(Path(PREDICTIONS) / sub / f"{name}{suffix}.csv")
        if timed is None or runtime in timed:
            files.append(Path(SAMPLES) / sub / f"{name}.csv")
    return files


def config_differences(previous: dict, current: dict, prefix: str = "") -> list[str]:
    """The fields (dotted for nested ones) in which two config.json contents differ."""
    names = []
    for key in sorted(set(previous) | set(current)):
        old, new = previous.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            names += config_differences(old, new, f"{prefix}{key}.")
        elif old != new:
            names.append(f"{prefix}{key}")
    return names


def describe_differences(previous: dict, current: dict) -> str:
    shown = []
    for name in config_differences(previous, current):
        old, new = previous, current
        for part in name.split("."):
            old = old.get(part) if isinstance(old, dict) else None
            new = new.get(part) if isinstance(new, dict) else None
        shown.append(f"{name} (run: {json.dumps(old)}, now: {json.dumps(new)})")
    return "; ".join(shown)


def check_config(store: RunStore, config: dict, repair: bool) -> str:
    """The run id to go on with: the stored config's, which must equal `config` but for its
    run id. A new run (no config.json yet) gets `config` written."""
    path = store.root / CONFIG
    if not (path.exists() or path.is_symlink()):
        store.write_json(CONFIG, config)
        return str(config["run_id"])
    try:
        previous = load_json(path, what=CONFIG)
        fields = Fields(previous, where=f"{CONFIG} {path}")
        run_id = fields.str("run_id")
    except UsageError as exc:
        if not repair or not store.rows:
            raise
        # The rows prove the folder is a run of ours: rewrite its config from them.
        ids = sorted({r["run_id"] for r in store.rows})
        if len(ids) != 1:
            raise UsageError(f"{exc}; its rows carry {len(ids)} run ids, so --repair cannot "
                             f"tell which run it was") from None
        store.write_json(CONFIG, {**config, "run_id": ids[0]})
        return ids[0]
    differs = describe_differences({k: v for k, v in previous.items() if k != "run_id"},
                                   {k: v for k, v in config.items() if k != "run_id"})
    if differs:
        raise UsageError(f"{path}: the run was started with another config: {differs}; "
                         f"resume it with the same arguments")
    return run_id


def check_rows(store: RunStore, cfg: BenchConfig, run_id: str) -> None:
    """Rows of another run, or of other arguments, mark their unit damaged."""
    wanted = {"target": cfg.target, "preset": cfg.preset, "dataset": cfg.dataset,
              "split": cfg.split}
    for row in store.rows:
        unit = unit_key(row["model"], row["seed"])
        if unit in store.damaged:
            continue
        if row["run_id"] != run_id:
            store.damaged[unit] = (f"results.csv holds rows of {unit} from run "
                                   f"{row['run_id']!r}, not {run_id!r}")
            continue
        for column in _RUN_COLUMNS:
            if row[column] != wanted[column]:
                store.damaged[unit] = (f"results.csv holds rows of {unit} with {column} "
                                       f"{row[column]!r}, not {wanted[column]!r}")
                break


def check_files(store: RunStore, cfg: BenchConfig,
                labels_of: Callable[[str], list[str]]) -> None:
    """Each finished unit's predictions and samples files must exist and parse, and its
    artifacts must be what its manifest recorded. An artifacts folder that is a link
    (writes would leave the run directory) is refused whole."""
    artifacts = store.root / ARTIFACTS
    if artifacts.is_symlink() or (artifacts.exists() and not artifacts.is_dir()):
        # Not repairable in place: refused even with --repair, before anything is written.
        raise UsageError(f"cannot resume {store.root}: {artifacts} is not a folder of the "
                         "run directory (a link?)")
    timed: dict[str, set[str]] = {}  # unit -> the runtimes it has latency rows under
    for row in store.rows:
        if row["metric"] == M.LATENCY_MS.name:
            timed.setdefault(unit_key(row["model"], row["seed"]), set()).add(row["runtime"])
    for unit in store.done:
        if unit in store.damaged:
            continue
        name, _, seed = unit.rpartition("@seed-")
        fault = manifest_fault(artifacts / seed_dir(cfg.seeds, int(seed)), name)
        if fault:
            store.damaged[unit] = f"{unit}: {fault}"
            continue
        for rel in unit_files(cfg, name, int(seed), labels_of(unit), timed.get(unit, set())):
            path = store.root / rel
            try:
                if not (path.exists() or path.is_symlink()):
                    raise UsageError(f"{path}: missing")
                (read_predictions_file if rel.parts[0] == PREDICTIONS
                 else read_samples_file)(path)
            except UsageError as exc:
                store.damaged[unit] = f"{unit}: {exc}"
                break


def runtime_labels(store: RunStore) -> Callable[[str], list[str]]:
    """unit -> the runtime labels of its rows, in the order they were measured."""
    labels: dict[str, list[str]] = {}
    for row in store.rows:
        seen = labels.setdefault(unit_key(row["model"], row["seed"]), [])
        if row["runtime"] not in seen:
            seen.append(row["runtime"])
    return lambda unit: labels.get(unit, [])


def settle(store: RunStore, repair: bool, say: Callable[[str], None]) -> None:
    """Refuse a damaged run, or (repair) forget its damaged units so they are measured
    again."""
    faults = store.problems + [store.damaged[u] for u in sorted(store.damaged)]
    if not faults:
        return
    if not repair:
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise UsageError(f"cannot resume {store.root}: {faults[0]}{more}; "
                         f"`--resume --repair` measures the damaged models again")
    for fault in faults:
        say(f"repair: {fault}")
    if store.damaged:
        say(f"repair: measuring again {', '.join(sorted(store.damaged))}")
    store.forget(set(store.damaged))
