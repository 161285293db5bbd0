"""Damaged or hostile baseline files: one line naming the file and field, exit 2; a
figure without a value round-trips as null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import SYNTHETIC_RUN, one_line

from beexbench.cli.main import main
from beexbench.regress.baseline import build_baseline, load_baseline, write_baseline
from beexbench.results.rundir import load_run

synthetic_run = SYNTHETIC_RUN

HEAD = '{"format": "beexbench-baseline", "version": 2, '
ENTRY = '"a/b/c/d": {"gate": "noisy", "value": 1.0, "unit": "ms"'


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return synthetic_run.write_run(tmp_path, models=["fp-transformer"])


def _regress_fails(baseline: Path, run: Path, capsys) -> str:
    assert main(["regress", "--baseline", str(baseline), str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err)
    assert str(baseline) in err
    return err


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (HEAD.replace('"version": 2', '"version": true') + '"entries": {}}',
         "unsupported version True"),
        (HEAD.replace('"version": 2', '"version": 2.0') + '"entries": {}}', "unsupported version"),
        (HEAD + '"defaults": {"acc_abs_tol": NaN}, "entries": {}}', "NaN"),
        (HEAD + '"defaults": {"acc_abs_tol": -1}, "entries": {}}',
         "field 'defaults.acc_abs_tol' must be a finite number >= 0.0, got -1"),
        (HEAD + '"defaults": {"noisy_factor": "1.1"}, "entries": {}}',
         "field 'defaults.noisy_factor' must be a finite number"),
        (HEAD + '"entries": {' + ENTRY + ', "factor": NaN}}}', "NaN"),
        (HEAD + '"entries": {' + ENTRY + ', "factor": 1e999}}}', "got inf"),
        (HEAD + '"entries": {' + ENTRY + ', "factor": -2}}}', "field 'entries.a/b/c/d.factor'"),
        (HEAD + '"entries": {"a/b/c/d": {"gate": "noisy", "value": 1.0}}}',
         "field 'entries.a/b/c/d.unit' is missing"),
        (HEAD + '"source": ["run-1"], "entries": {}}', "field 'source' must be an object"),
        (HEAD + '"source": {"run_id": ["run-1"]}, "entries": {}}',
         "field 'source.run_id' must be a string"),
        (HEAD + '"entries": {"abc": {"gate": "noisy", "value": 1.0, "unit": "ms"}}}',
         "key must be model/policy/metric/stat"),
        (HEAD + '"entries": {' + ENTRY + ', "batch_size": true}}}',
         "field 'entries.a/b/c/d.batch_size' must be an integer"),
        (HEAD + '"entries": {' + ENTRY + ', "better": "up"}}}',
         "field 'entries.a/b/c/d.better' must be one of"),
        (HEAD + '"entries": {' + ENTRY + ', "samples": "s"}}, "samples": {"s": [1, "x"]}}',
         "field 'samples.s' must be a list of finite numbers"),
        (HEAD + '"entries": {}, "entries": {}}', "appears twice"),
        ("[" * 50_000, "nested deeper"),
        ('{"format": ' + "[" * 5_000 + "]" * 5_000 + "}", "nested deeper"),
    ],
)
def test_bad_baseline_is_one_line(tmp_path: Path, run: Path, capsys, content: str,
                                  why: str) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    err = _regress_fails(baseline, run, capsys)
    assert why in err, err


def test_dev_zero_as_baseline_is_refused_without_reading_it(run: Path, capsys) -> None:
    assert "not a regular file" in _regress_fails(Path("/dev/zero"), run, capsys)


def test_oversized_baseline_is_refused(tmp_path: Path, run: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("beexbench.regress.baseline.MAX_BYTES", 1000)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(HEAD + '"entries": {}, "pad": "' + "x" * 2000 + '"}')
    assert "larger than 1000 bytes" in _regress_fails(baseline, run, capsys)


def test_a_figure_without_a_value_round_trips_as_null(tmp_path: Path, run: Path) -> None:
    baseline = build_baseline(load_run(run))
    key = next(iter(baseline["entries"]))
    baseline["entries"][key]["value"] = math.nan
    path = tmp_path / "baseline.json"
    write_baseline(str(path), baseline)
    assert json.loads(path.read_text())["entries"][key]["value"] is None
    assert "NaN" not in path.read_text()
    assert math.isnan(load_baseline(str(path))["entries"][key]["value"])
