"""Merge run directories and write tidy.csv, summary.csv, plots, report.md and report.html."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import UsageError
from harness.report import html, markdown
from harness.report.document import build_document
from harness.report.labels import series_labels
from harness.report.plotdata import exit_depths, latency_samples, sweep_points
from harness.report.plots import make_plots
from harness.report.rundir import Run, expand_sweep, load_run
from harness.results.atomic import atomic_write_text
from harness.results.schema import RESULT_COLUMNS
from harness.results.summary import build_summary


@dataclass(frozen=True)
class ReportFiles:
    """What `build_report` wrote, all inside `out_dir`."""

    out_dir: Path
    tidy: Path
    summary: Path
    markdown: Path
    html: Path
    plots: list[Path]


def _check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        raise UsageError(f"--out {out_dir}: exists and is not a directory") from None
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: cannot write there ({exc.strerror})") from None


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


def build_report(run_dirs: list[str | Path], out_dir: str | Path) -> ReportFiles:
    """Load, merge and report on `run_dirs`; raise UsageError on any bad input."""
    out_dir = Path(out_dir)
    runs = [load_run(p) for d in run_dirs for p in expand_sweep(Path(d))]
    _check_writable(out_dir)
    tidy = merge_results(runs)
    summary = build_summary(tidy)
    labelled = summary.assign(label=series_labels(summary))
    plots = make_plots(labelled, latency_samples(runs, labelled), exit_depths(runs, labelled),
                       sweep_points(tidy), out_dir)
    blocks = build_document(runs, tidy, summary, plots)

    files = ReportFiles(out_dir, out_dir / "tidy.csv", out_dir / "summary.csv",
                        out_dir / "report.md", out_dir / "report.html",
                        [out_dir / p.path for p in plots])
    atomic_write_text(files.tidy, _tidy_csv(tidy))
    atomic_write_text(files.summary, summary.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(files.markdown, markdown.render(blocks))
    atomic_write_text(files.html, html.render(blocks, out_dir))
    return files
