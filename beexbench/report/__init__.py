"""`beexbench report`: merge run directories into tables, plots, Markdown and HTML.

Public entry point: `build_report(run_dirs, out_dir)`; the pieces are
`beexbench.results.rundir.load_run` (read and validate a run directory),
`beexbench.results.summary.build_summary` (the wide headline table), `plots.make_plots`,
`claims.paper_claims`, `document.build_document` with its renderers `markdown.render`
and `html.render`. The report reads run directories only through beexbench.results.
"""

from beexbench.report.build import ReportFiles, build_report

__all__ = ["ReportFiles", "build_report"]
