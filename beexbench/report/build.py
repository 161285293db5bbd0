"""Merge run directories and write tidy.csv, summary.csv, plots, report.md and report.html."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from beexbench.core.atomic import atomic_write_text, new_temp_dir, replace_dir
from beexbench.core.errors import UsageError
from beexbench.report import html, markdown
from beexbench.report.document import build_document
from beexbench.report.labels import series_labels
from beexbench.report.plotdata import exit_depths, latency_samples, sweep_points
from beexbench.report.plots import make_plots
from beexbench.results.rundir import Run, load_runs, refuse_out_inside_runs
from beexbench.results.schema import RESULT_COLUMNS
from beexbench.results.summary import build_summary


@dataclass(frozen=True)
class ReportFiles:
    """What `build_report` wrote, all inside `out_dir`."""

    out_dir: Path
    tidy: Path
    summary: Path
    markdown: Path
    html: Path
    plots: list[Path]


# What a report directory holds; anything else in an --out folder is someone else's.
REPORT_FILES = ("tidy.csv", "summary.csv", "report.md", "report.html")
PLOTS = "plots"


def _check_out(out_dir: Path, runs: list[Run], replace: bool) -> None:
    """--out must not lie inside a run directory, nor hold files a report did not write
    (the new report replaces the folder whole), nor hold a report unless `replace`."""
    refuse_out_inside_runs(out_dir, runs, "write the report outside it")
    if not out_dir.is_dir():
        return
    for entry in sorted(out_dir.iterdir()):
        ours = entry.name in REPORT_FILES and entry.is_file() or (
            entry.name == PLOTS and entry.is_dir()
            and all(p.suffix == ".png" and p.is_file() for p in entry.iterdir()))
        if not ours:
            raise UsageError(f"--out {out_dir}: holds {entry.name}, which no report "
                             f"writes; choose an empty folder or an earlier report's")
    if not replace and any(out_dir.iterdir()):
        raise UsageError(f"--out {out_dir} exists; pass --force to replace its report or "
                         "choose another --out")


def merge_results(runs: list[Run]) -> pd.DataFrame:
    """All rows of all runs; `value` as float, `value_text` as stored."""
    for run in runs:
        if run.results.empty:
            raise UsageError(f"{run.path}/results.csv: no result rows")
    return pd.concat([r.results for r in runs], ignore_index=True)


def _tidy_csv(tidy: pd.DataFrame) -> str:
    # The stored text of every value, so tidy.csv repeats results.csv exactly.
    extras = [c for c in tidy.columns if c not in RESULT_COLUMNS and c != "value_text"]
    out = tidy.assign(value=tidy["value_text"])[list(RESULT_COLUMNS) + extras]
    return out.to_csv(index=False, lineterminator="\n")


def build_report(run_dirs: list[str | Path], out_dir: str | Path,
                 replace: bool = True) -> ReportFiles:
    """Load, merge and report on `run_dirs`; raise UsageError on any bad input.

    The report is built in a temporary folder beside `out_dir` and renamed into place
    whole, so an earlier report there stays complete until the new one is.
    """
    out_dir = Path(out_dir)
    runs = load_runs(run_dirs)
    _check_out(out_dir, runs, replace)
    tidy = merge_results(runs)
    summary = build_summary(tidy)
    labelled = summary.assign(label=series_labels(summary))
    stage = new_temp_dir(out_dir, what="report")
    try:
        plots = make_plots(labelled, latency_samples(runs, labelled),
                           exit_depths(runs, labelled), sweep_points(tidy), stage)
        blocks = build_document(runs, tidy, summary, plots)
        atomic_write_text(stage / "tidy.csv", _tidy_csv(tidy), what="report table")
        atomic_write_text(stage / "summary.csv",
                          summary.to_csv(index=False, lineterminator="\n"),
                          what="report table")
        atomic_write_text(stage / "report.md", markdown.render(blocks), what="report")
        atomic_write_text(stage / "report.html", html.render(blocks, stage), what="report")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    replace_dir(stage, out_dir, what="report")
    return ReportFiles(out_dir, out_dir / "tidy.csv", out_dir / "summary.csv",
                       out_dir / "report.md", out_dir / "report.html",
                       [out_dir / p.path for p in plots])
