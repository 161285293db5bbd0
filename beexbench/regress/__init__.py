"""`beexbench regress`: compare a run with a committed baseline (see `baseline` for the format).

Public API: `baseline.build_baseline`, `baseline.load_baseline`, `baseline.write_baseline`,
`compare.compare`, `compare.render_findings`.
"""
