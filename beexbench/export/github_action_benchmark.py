"""`--format github-action-benchmark`: the customSmallerIsBetter / customBiggerIsBetter
files of github-action-benchmark (Bencher reads the same).

Each file is a JSON list of `{"name", "unit", "value", "range", "extra"}` objects, one per
headline figure whose catalogue metric has a direction; `range` and `extra` are strings
and optional. Names are stable across runs (beexbench.export.figures.name_figures), so
each becomes one series of the benchmark's history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beexbench.core.atomic import atomic_write_text
from beexbench.export.figures import Figure, figures_of, name_figures
from beexbench.export.formats import FORMATS, Exporter
from beexbench.measure import catalog as M

if TYPE_CHECKING:
    from beexbench.results.rundir import Run

SMALLER = "benchmark-smaller-is-better.json"
BIGGER = "benchmark-bigger-is-better.json"


def _number(value: float) -> int | float:
    # Byte and op counts read better as integers; beyond 2**53 a float is what it is.
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def entry(name: str, figure: Figure) -> dict[str, Any]:
    """One benchmark entry of github-action-benchmark's custom tools."""
    out: dict[str, Any] = {"name": name, "unit": figure.unit, "value": _number(figure.value)}
    if figure.range:
        out["range"] = figure.range
    out["extra"] = (f"run_id: {figure.run_id}\nhost: {figure.host}\n"
                    f"git_sha: {figure.git_sha}")
    return out


def entries(runs: list[Run]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(smaller-is-better entries, bigger-is-better entries) of the runs."""
    named = name_figures(figures_of(runs, directional=True))
    smaller = [entry(n, f) for n, f in named if f.better == M.LOWER]
    bigger = [entry(n, f) for n, f in named if f.better == M.HIGHER]
    return smaller, bigger


@FORMATS.register("github-action-benchmark")
class GithubActionBenchmark(Exporter):
    """benchmark-{smaller,bigger}-is-better.json for github-action-benchmark and Bencher."""

    files = (SMALLER, BIGGER)

    def write(self, runs: list[Run], out: Path | None) -> str:
        assert out is not None
        smaller, bigger = entries(runs)
        for name, items in ((SMALLER, smaller), (BIGGER, bigger)):
            text = json.dumps(items, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            atomic_write_text(out / name, text, what="benchmark file")
        return (f"export: {out / SMALLER} ({len(smaller)} figures), "
                f"{out / BIGGER} ({len(bigger)} figures)")
