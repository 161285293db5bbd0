"""`beexbench report RUN_DIR [RUN_DIR ...] --out DIR`: tables, plots and a report."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="turn result runs into CSV tables, plots, report.md and report.html",
        description="Merge one or more run directories (several models, targets, hosts) into "
        "tidy.csv, summary.csv, PNG plots, report.md and a self-contained report.html.",
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run or sweep directories")
    parser.add_argument("--out", required=True, metavar="DIR", help="report directory")
    parser.add_argument("--force", action="store_true",
                        help="replace the report in an existing --out directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not pay for pandas and matplotlib.
    from beexbench.report import build_report

    files = build_report(args.run_dirs, Path(args.out), replace=args.force)
    if not getattr(args, "quiet", False):
        print(f"report: {files.markdown} and {files.html} ({len(files.plots)} plots)")
    return 0
