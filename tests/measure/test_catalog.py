"""The metric catalogue: every written row is declared in it, once, with its unit."""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import pytest
from conftest import REPO

from beexbench.measure import catalog as M

ROOT = REPO


def test_every_row_of_a_full_bench_run_is_catalogued_with_its_unit(run_all):
    with (run_all / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        metric = M.require(r["metric"], r["stat"])
        assert r["unit"] == metric.unit_of(r["stat"]), r


def test_an_uncatalogued_metric_or_stat_cannot_be_written():
    from beexbench.bench.rows import RowContext

    ctx = RowContext("r", "sha", "h", "cpu", "dev", "m", "tiny", "d", "test", "final", 1, "x")
    assert ctx.row("acc_exit_2", 50.0)["unit"] == "%"
    with pytest.raises(KeyError, match="not in the catalogue"):
        ctx.row("acc_exitt_2", 50.0)
    with pytest.raises(KeyError, match="no stat"):
        ctx.row("latency_ms", 1.0, stat="p42")


def test_names_are_unique_and_patterns_do_not_overlap():
    names = [m.name for m in M.CATALOG]
    assert len(names) == len(set(names))
    for metric in M.CATALOG:
        probe = metric.name.replace("{k}", "7")
        assert [m.name for m in M.CATALOG if m.pattern.match(probe)] == [metric.name]


def test_learned_figures_name_a_tolerance_the_baseline_defines():
    from beexbench.regress.baseline import DEFAULTS

    for metric in M.CATALOG:
        if metric.gate == M.LEARNED:
            assert metric.tolerance in DEFAULTS, metric.name
        if metric.tolerance == "exit_share_tol" and not metric.of_samples:
            assert M.lookup(metric.per_exit.replace("{k}", "1")).gate == M.STRUCTURAL


def _metric_literals(path: Path) -> list[tuple[int, str]]:
    names = {m.name for m in M.CATALOG if "{k}" not in m.name}
    per_exit = [re.compile(m.name.replace("{k}", r"(\d+|\{k\})") + "$")
                for m in M.CATALOG if "{k}" in m.name]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in names or any(p.match(text) for p in per_exit):
                found.append((node.lineno, text))
    return found


@pytest.mark.parametrize("package", ["beexbench"])
def test_no_metric_name_is_written_outside_the_catalogue(package):
    stray = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path.name == "catalog.py":
            continue
        stray += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                  for line, text in _metric_literals(path)]
    assert not stray, "metric names outside the catalogue:\n" + "\n".join(stray)
