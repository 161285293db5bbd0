"""Plots stay readable with several runs: legends beside the axes, never over them; no
tick label outside the figure; run ids shortened; the accuracy-vs-latency plot leads."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest

from beexbench.report import plots
from beexbench.report.build import build_report


@pytest.fixture
def figures(monkeypatch):
    """Every figure the plots make, kept open instead of closed after saving."""
    kept: list[plt.Figure] = []
    close = plt.close
    monkeypatch.setattr(plots.plt, "close", lambda fig=None: kept.append(fig))
    yield kept
    for fig in kept:
        close(fig)


def _drawn_tick_labels(ax):
    """Tick labels matplotlib draws: those of ticks inside the view limits, with text."""
    out = []
    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = min(lo, hi), max(lo, hi)
        for loc, label in zip(axis.get_ticklocs(), axis.get_ticklabels(), strict=True):
            if lo <= loc <= hi and label.get_visible() and label.get_text():
                out.append(label)
    return out


def test_a_two_run_report_has_readable_plots(synthetic_run, tmp_path, figures):
    runs = [synthetic_run.write_run(tmp_path / "a", run_id="20260101T000000Z-cpu-tiny-aaaaaa"),
            synthetic_run.write_run(tmp_path / "b", run_id="20260102T000000Z-cpu-tiny-bbbbbb",
                                    latency_scale=40.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layout warning, no library warning
        files = build_report(runs, tmp_path / "report")
    names = [p.name for p in files.plots]
    assert names[0] == "accuracy_vs_latency.png"
    assert len(figures) == len(files.plots) >= 5
    for fig in figures:
        fig.canvas.draw()  # lay out at the canvas's own resolution, then measure
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            legend = ax.get_legend()
            if legend is not None:
                assert not legend.get_window_extent(renderer).overlaps(
                    ax.get_window_extent(renderer)), fig.axes[0].get_xlabel()
                texts = [t.get_text() for t in legend.get_texts()]
                assert not any("20260101T" in t for t in texts), texts  # no raw run ids
            for label in _drawn_tick_labels(ax):
                bb = label.get_window_extent(renderer)
                assert bb.x0 >= box.x0 - 1 and bb.x1 <= box.x1 + 1, label.get_text()
                assert bb.y0 >= box.y0 - 1 and bb.y1 <= box.y1 + 1, label.get_text()
    # The latency range spans more than a decade: its axes are logarithmic.
    latency = next(f for f, n in zip(figures, names, strict=True) if n == "latency.png")
    assert latency.axes[0].get_xscale() == "log"
    report = files.markdown.read_text()
    lead = report.split("## What binarization and early exit buy here", 1)[1]
    assert lead.index("accuracy_vs_latency.png") < lead.index("### Accuracy-matched")


def test_one_front_for_the_answer_and_the_plots():
    """Dominated points leave the front, equal points both stay, on either caller's data."""
    import pandas as pd

    from beexbench.report.pareto import on_front
    from beexbench.report.plots import pareto_front

    costs, accs = [1.0, 2.0, 2.0, 3.0, 1.0], [70.0, 75.0, 75.0, 74.0, 69.0]
    assert on_front(costs, accs) == [True, True, True, False, False]
    df = pd.DataFrame({"x": costs, "y": accs})
    assert pareto_front(df, "x", "y").index.tolist() == [0, 1, 2]
