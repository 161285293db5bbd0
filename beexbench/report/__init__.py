"""`beexbench report`: merge run directories into tables, plots, Markdown and HTML.

Public entry point: `build_report(run_dirs, out_dir)`; the pieces are
`beexbench.results.rundir.load_run` (read and validate a run directory),
`beexbench.results.summary.build_summary` (the wide headline table), `plots.make_plots`,
`claims.paper_claims`, `document.build_document` with its renderers `markdown.render`
and `html.render`. The report reads run directories only through beexbench.results.

`beexbench.report(runs, out)` writes a report from Python (the package is callable:
beexbench.core.callable_package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from beexbench.core.callable_package import make_callable
from beexbench.report.build import ReportFiles, build_report
from beexbench.results.rundir import Run

__all__ = ["ReportFiles", "build_report", "report"]


def report(runs: Sequence[Run | str | Path], out: str | Path, *,
           replace: bool = False) -> ReportFiles:
    """Write the report of `runs` (loaded runs or their directories) into `out`."""
    return build_report([r.path if isinstance(r, Run) else Path(r) for r in runs], Path(out),
                        replace=replace)


make_callable(__name__, report)
