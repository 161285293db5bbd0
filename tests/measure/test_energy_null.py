"""A net energy below zero is no measurement: its row has an empty value and a note, and
summary, report and regress carry the gap instead of a negative figure."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from conftest import SYNTHETIC_RUN, one_line

from beexbench.bench.rows import RowContext
from beexbench.cli.main import main
from beexbench.measure import catalog as M
from beexbench.measure.energy import EnergyResult
from beexbench.regress.baseline import load_baseline
from beexbench.results.rundir import load_run
from beexbench.results.summary import build_summary, console_table
from beexbench.targets.base import EnergyReading

synthetic_run = SYNTHETIC_RUN


def _result(gross_j: float, idle_j: float) -> EnergyResult:
    return EnergyResult(EnergyReading(gross_j, 2.0, "rapl", False),
                        EnergyReading(idle_j, 2.0, "rapl", False), samples=100)


def test_net_energy_below_zero_is_none_with_a_reason() -> None:
    low = _result(gross_j=10.0, idle_j=10.5)
    assert low.net_j_per_sample is None
    assert "idle baseline 10.5 J exceeds the loop's 10 J" in low.net_reason
    assert "resolution" in low.net_reason
    assert low.gross_j_per_sample == pytest.approx(0.1)


def test_net_energy_at_or_above_zero_is_a_figure() -> None:
    assert _result(10.0, 10.0).net_j_per_sample == 0.0
    ok = _result(12.0, 10.0)
    assert ok.net_j_per_sample == pytest.approx(0.02) and ok.net_reason == ""


def test_a_row_without_a_value_is_empty_with_its_note() -> None:
    ctx = RowContext("r", "sha", "h", "cpu", "d", "m", "tiny", "synthetic-2", "test", "final",
                     1, "fake-quant")
    row = ctx.row(M.ENERGY_J_PER_SAMPLE.name, None, stat="net", note="why")
    assert row["value"] == "" and row["note"] == "why"
    with pytest.raises(ValueError, match="needs a note"):
        ctx.row(M.ENERGY_J_PER_SAMPLE.name, None, stat="net")


NOTE = "idle baseline 3 J exceeds the loop's 2 J over 1 s: the loop's draw is within the meter's"


@pytest.fixture
def run_with_a_gap(tmp_path: Path) -> Path:
    run = synthetic_run.write_run(tmp_path, models=["fp-transformer", "beexformer"])
    path = run / "results.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    hits = [r for r in rows if r["metric"] == M.ENERGY_J_PER_SAMPLE.name and r["stat"] == "net"
            and r["model"] == "beexformer"]
    assert hits
    for row in hits:
        row["value"], row["note"] = "", NOTE
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return run


def test_summary_report_and_regress_carry_the_gap(run_with_a_gap: Path, tmp_path: Path,
                                                  capsys) -> None:
    results = load_run(run_with_a_gap).results
    gap = results[(results["note"] == NOTE)]
    assert len(gap) and gap["value"].map(math.isnan).all()

    summary = build_summary(results)
    beex = summary[summary["model"] == "beexformer"].iloc[0]
    assert math.isnan(beex[M.ENERGY_J_PER_SAMPLE.name])
    assert "no figure: idle baseline" in beex["energy_source"]
    assert console_table(summary)

    report = tmp_path / "report"
    assert main(["report", str(run_with_a_gap), "--out", str(report)]) == 0
    assert (report / "report.md").exists()

    baseline = tmp_path / "baseline.json"
    assert main(["regress", str(run_with_a_gap), "--baseline", str(baseline), "--update"]) == 0
    stored = json.loads(baseline.read_text())
    nulls = [k for k, e in stored["entries"].items() if e["value"] is None]
    assert nulls and all(f"/{M.ENERGY_J_PER_SAMPLE.name}/net" in k for k in nulls)
    load_baseline(str(baseline))
    assert main(["regress", str(run_with_a_gap), "--baseline", str(baseline)]) == 0
    capsys.readouterr()


def test_an_empty_value_without_a_note_is_refused(run_with_a_gap: Path, capsys) -> None:
    text = (run_with_a_gap / "results.csv").read_text().replace(NOTE, "")
    (run_with_a_gap / "results.csv").write_text(text)
    assert main(["report", str(run_with_a_gap), "--out", str(run_with_a_gap.parent / "r")]) == 2
    err = capsys.readouterr().err
    assert "value is empty and no note says why" in err and one_line(err)


class _CountingMeter:
    """A meter that counts its spans: 1 J a span, over 0.5 s."""

    def __init__(self) -> None:
        self.spans = 0

    def start(self) -> None:
        self.spans += 1

    def stop(self) -> EnergyReading:
        return EnergyReading(1.0, 0.5, "fake", True)


def test_an_idle_baseline_read_once_is_reused_not_read_again() -> None:
    from beexbench.measure.energy import measure_energy

    meter = _CountingMeter()
    first = measure_energy(meter, lambda i: None, 4, 0.0)
    assert meter.spans == 2  # the loop, then the idle baseline
    second = measure_energy(meter, lambda i: None, 4, 0.0, idle=first.idle)
    assert meter.spans == 3 and second.idle is first.idle
    assert second.idle_power_w == pytest.approx(2.0)
