"""The headline figure of each (configuration, metric) of runs, and stable names for them.

A configuration is one (target, model, runtime, policy, seed) of a run's rows. Its
headline stat for a metric is the first of the catalogue's stats for that metric that
the rows hold: p50 for latency, `value` for most figures, `net` for energy. Sweep grids
(no catalogue stats) and uncatalogued metrics have none, and rows without a value
(NaN: a figure that is no measurement) give none.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from beexbench.core.errors import UsageError
from beexbench.measure import catalog as M

if TYPE_CHECKING:
    from beexbench.results.rundir import Run

CONFIG_FIELDS = ("target", "model", "runtime", "policy", "seed")
_GROUP = (*CONFIG_FIELDS, "batch_size", "metric")


@dataclass(frozen=True)
class Figure:
    """One headline figure and where it comes from."""

    run_id: str
    host: str
    git_sha: str
    target: str
    model: str
    runtime: str
    policy: str
    seed: str
    batch_size: str
    metric: str
    stat: str
    value: float
    unit: str
    better: str  # the catalogue's direction: M.HIGHER, M.LOWER or M.NONE
    range: str = ""  # "+x" (p90 - p50) for latency, "± x" (half the 95% interval), or ""

    def config(self) -> tuple[str, ...]:
        """(target, model, runtime, policy, seed)."""
        return tuple(getattr(self, f) for f in CONFIG_FIELDS)


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _range(stats: dict[str, float], stat: str) -> str:
    if stat == "p50" and _finite(stats.get("p90")):
        return f"+{stats['p90'] - stats['p50']:.6g}"
    low, high = stats.get("ci95_low"), stats.get("ci95_high")
    if _finite(low) and _finite(high):
        return f"± {(high - low) / 2:.6g}"
    return ""


def run_figures(run: Run, directional: bool = True) -> list[Figure]:
    """The headline figures of one run, in the order of its rows; with `directional`,
    only those whose catalogue metric has a direction (higher or lower is better)."""
    figures = []
    for keys, group in run.results.groupby(list(_GROUP), sort=False):
        fields = dict(zip(_GROUP, keys, strict=True))
        cat = M.lookup(fields["metric"])
        if cat is None or (directional and cat.better == M.NONE):
            continue
        stats = {str(s): float(v) for s, v in zip(group["stat"], group["value"], strict=True)}
        stat = next((s for s in cat.stats if s in stats), None)
        if stat is None or not _finite(stats[stat]):
            continue
        first = group.iloc[0]
        figures.append(Figure(
            run_id=str(first["run_id"]), host=str(first["host"]),
            git_sha=str(first["git_sha"]), **fields, stat=stat, value=stats[stat],
            unit=cat.unit_of(stat) or str(first["unit"]), better=cat.better,
            range=_range(stats, stat)))
    return figures


def figures_of(runs: list[Run], directional: bool = True) -> list[Figure]:
    return [f for run in runs for f in run_figures(run, directional)]


def metric_label(figure: Figure, with_batch: bool) -> str:
    """`metric`, `metric stat` where the stat is not `value`, and ` bs=N` where asked."""
    label = figure.metric if figure.stat == "value" else f"{figure.metric} {figure.stat}"
    return f"{label} bs={figure.batch_size}" if with_batch else label


def _several_batches(figures: list[Figure]) -> set[tuple[str, ...]]:
    """(configuration, metric) keys measured at more than one batch size."""
    sizes: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for f in figures:
        sizes[(*f.config(), f.metric)].add(f.batch_size)
    return {key for key, found in sizes.items() if len(found) > 1}


def name_figures(figures: list[Figure]) -> list[tuple[str, Figure]]:
    """A name per figure that stays the same from one run to the next (no run id, no
    timestamp): `target/model/runtime/policy/metric stat`, e.g.
    `cpu/beexformer/packed-native/beex-entropy-drop/latency_ms p50`.

    `seed-<S>` follows the policy where the figures hold more than one seed; ` bs=N`
    follows the metric where one is measured at several batch sizes; `@host` follows the
    target only where two hosts give the same figure. Two inputs that still give the
    same name (the same host twice) are refused: they cannot both be one series.
    """
    several_seeds = len({f.seed for f in figures}) > 1
    batches = _several_batches(figures)

    def name(f: Figure, host: bool) -> str:
        target = f"{f.target}@{f.host}" if host else f.target
        parts = [target, f.model, f.runtime, f.policy]
        if several_seeds:
            parts.append(f"seed-{f.seed}")
        return "/".join([*parts, metric_label(f, (*f.config(), f.metric) in batches)])

    plain: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        plain[name(f, host=False)].append(f)
    named: list[tuple[str, Figure]] = []
    seen: dict[str, Figure] = {}
    for f in figures:
        full = name(f, host=len({g.host for g in plain[name(f, host=False)]}) > 1)
        if full in seen:
            raise UsageError(f"runs {seen[full].run_id} and {f.run_id} both give {full}; "
                             "export them separately")
        seen[full] = f
        named.append((full, f))
    return named
