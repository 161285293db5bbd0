"""Every latency figure carries its evidence and a verdict; a contended loop is marked
invalid in the rows, the summary, bench's table and the report, and feeds no ratio."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import BENCH_FAST

from beexbench.cli.main import main
from beexbench.measure import catalog as M
from beexbench.measure.validity import MAX_SWITCHES_PER_S, judge
from beexbench.report.build import build_report
from beexbench.results.rundir import load_run
from beexbench.results.summary import BEST_SPEEDUP, build_summary
from beexbench.targets.base import Target
from beexbench.targets.contention import Snapshot, read_snapshot


def _snap(when=0.0, runnable=1, steal=0, total=1000, switches=0, throttled=None,
          load=0.5, own=1, idle=None, cpu=0.0) -> Snapshot:
    """A reading; by default the machine was idle but for this process (idle ticks follow
    the total, so other work's CPU share is 0)."""
    return Snapshot(when, load, runnable, own, steal, total, total if idle is None else idle,
                    switches, cpu, throttled)


def test_a_quiet_loop_is_valid():
    v = judge(_snap(), _snap(when=2.0, total=1400, switches=4), 500, 2.0, 100, 1.0, 2)
    assert v.valid and v.reasons == () and v.unchecked == ()


@pytest.mark.parametrize(("after", "queries", "seconds", "words"), [
    (_snap(when=2.0, runnable=3, total=1400), 500, 2.0,
     "2 runnable threads of other work beside the run, on 2 cores"),
    # 400 ticks over 2 s on 2 cores, all busy, 100 of them this process's (1 s of CPU)
    (_snap(when=2.0, total=1400, idle=1000, cpu=1.0), 500, 2.0,
     "other work used 75 % of the CPU during the loop, above the 50 % the run's 1"),
    (_snap(when=2.0, steal=60, total=1400), 500, 2.0, "CPU steal 15.0 %"),
    (_snap(when=2.0, total=1400, switches=int(3 * MAX_SWITCHES_PER_S)), 500, 2.0,
     "involuntary context switches"),
    (_snap(when=2.0, total=1400, throttled=True), 500, 2.0, "throttling"),
    (_snap(when=2.0, total=1400), 50, 2.0, "50 queries, fewer than the minimum 100"),
    (_snap(when=0.5, total=1400), 500, 0.5, "shorter than the minimum 1 s"),
])
def test_each_sign_of_contention_makes_the_loop_invalid(after, queries, seconds, words):
    v = judge(_snap(), after, queries, seconds, 100, 1.0, 2)
    assert not v.valid and words in v.note()


def test_what_the_machine_does_not_expose_is_named_not_held_against_the_loop():
    blind = Snapshot(0.0, None, None, None, None, None, None, 0)
    v = judge(blind, Snapshot(2.0, None, None, None, None, None, None, 1), 500, 2.0, 100,
              1.0, 2)
    assert v.valid and v.unchecked == ("runnable threads", "other work's CPU", "CPU steal")
    assert "not checked: runnable threads, other work's CPU, CPU steal" in v.note()


def test_the_runs_own_spinning_threads_are_not_other_work():
    """At 2 threads the thread pools spin runnable between operations: 3 runnable, all
    ours, on 2 cores, is the run alone; other work taking CPU beside it is not."""
    ours = _snap(runnable=3, own=3)
    assert judge(ours, _snap(when=2.0, total=1400, runnable=3, own=3, idle=1000, cpu=4.0),
                 500, 2.0, 100, 1.0, 2, threads=2).valid
    # 400 ticks: all busy, 300 of them ours: other work took 25 % where a 2-thread run
    # leaves nothing free
    busy = judge(ours, _snap(when=2.0, total=1400, runnable=3, own=3, idle=1000, cpu=3.0),
                 500, 2.0, 100, 1.0, 2, threads=2)
    assert not busy.valid and "other work used 25 % of the CPU" in busy.note()
    # a CPU-bound process beside a 1-thread run on 2 cores competes for nothing
    assert judge(_snap(runnable=2), _snap(when=2.0, total=1400, runnable=2, idle=1000,
                                          cpu=2.0), 500, 2.0, 100, 1.0, 2).valid


def test_a_lagging_load_average_alone_does_not_invalidate():
    """A training that just ended leaves the 1-minute average high for a minute; the
    runnable count says whether anything competes now."""
    v = judge(_snap(load=3.9), _snap(when=2.0, total=1400, load=3.7), 500, 2.0, 100, 1.0, 2)
    assert v.valid and v.figures["load"] == 3.9


def test_the_reader_takes_load_and_steal_from_the_sysroot(tmp_path, sysroot):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loadavg").write_text("7.25 6.00 5.00 3/200 999\n")
    (tmp_path / "proc" / "stat").write_text("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2\n")
    sysroot(tmp_path)
    snap = read_snapshot()
    assert snap.load1 == 7.25 and snap.runnable == 3
    assert snap.steal_ticks == 35 and snap.total_ticks == 1000


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_a_contended_run_is_marked_invalid_everywhere(sysroot, tmp_path, monkeypatch, capsys,
                                                      checkpoint_cache):
    """A fake load reader: the machine reports a load average of 12 around every loop."""
    root = tmp_path / "sysroot"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "loadavg").write_text("12.00 11.00 10.00 9/300 4242\n")
    sysroot(root)
    monkeypatch.setattr(Target, "contention", lambda self: read_snapshot())
    run = tmp_path / "run"
    assert main(["bench", "--target", "cpu", "--models", "fp-transformer,beexformer",
                 "--no-energy", "--out", str(run), *BENCH_FAST]) == 0
    out = capsys.readouterr()
    verdicts = [r for r in _rows(run) if r["metric"] == M.TIMING_VALID.name]
    assert verdicts and all(r["value"] == "0.0" for r in verdicts)
    assert all("runnable threads of other work" in r["note"] for r in verdicts)
    assert all(r["batch_size"] == "1" for r in verdicts)
    assert {r["metric"] for r in _rows(run)} >= {
        M.LATENCY_QUERIES.name, M.LATENCY_DURATION.name, M.LATENCY_CV.name, M.LOAD_AVG.name,
        M.RUNNABLE_THREADS.name}
    # bench's table marks the figure; the summary carries the verdict and no ratio.
    assert "(INVALID)" in out.out
    summary = build_summary(load_run(run).results)
    assert (summary[M.TIMING_VALID.name] == 0).all()
    assert summary[BEST_SPEEDUP].isna().all()
    report = build_report([run], tmp_path / "report").markdown.read_text()
    assert "Timings that are not valid" in report and "timing not valid" in report
    assert "NOT VALID" in report


def test_a_loop_disturbed_once_runs_again_and_says_how_many_loops_ran(tmp_path, monkeypatch,
                                                                      checkpoint_cache):
    """The first batch-1 loop is contended (its two readings show other runnable work),
    every later one is quiet: the figure kept is the second loop's, valid, after 2 loops."""
    readings = iter([_snap(runnable=9), _snap(when=1.0, runnable=9)])
    monkeypatch.setattr(Target, "contention",
                        lambda self: next(readings, _snap(when=2.0, total=1400)))
    run = tmp_path / "run"
    assert main(["bench", "--target", "cpu", "--models", "fp-transformer", "--no-energy",
                 "--out", str(run), *BENCH_FAST]) == 0
    rows = _rows(run)
    attempts = [r["value"] for r in rows if r["metric"] == M.LATENCY_ATTEMPTS.name]
    valid = [r["value"] for r in rows if r["metric"] == M.TIMING_VALID.name]
    assert [float(a) for a in attempts] == [2.0] and [float(v) for v in valid] == [1.0]


def test_a_loop_contended_every_time_stops_after_the_last_attempt(tmp_path, monkeypatch,
                                                                   checkpoint_cache):
    monkeypatch.setattr(Target, "contention", lambda self: _snap(runnable=9))
    run = tmp_path / "run"
    assert main(["bench", "--target", "cpu", "--models", "fp-transformer", "--no-energy",
                 "--out", str(run), *BENCH_FAST]) == 0
    rows = _rows(run)
    assert [float(r["value"]) for r in rows if r["metric"] == M.LATENCY_ATTEMPTS.name] == [3.0]
    assert [float(r["value"]) for r in rows if r["metric"] == M.TIMING_VALID.name] == [0.0]
