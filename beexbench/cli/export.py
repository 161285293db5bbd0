"""`beexbench export RUN_DIR [RUN_DIR ...] --format F [--out DIR]`: runs for other tools."""

from __future__ import annotations

import argparse

from beexbench.core.registry import first_line
from beexbench.export.formats import FORMATS, format_names  # light: no pandas


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    names = format_names()
    parser = subparsers.add_parser(
        "export",
        help="write result runs in the formats of other tools (CI dashboards, pandas, MLflow)",
        description="Export one or more run or sweep directories. Formats: "
        + "; ".join(f"{n}: {first_line(FORMATS.get(n)).rstrip('.')}" for n in names),
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run or sweep directories")
    parser.add_argument("--format", required=True, dest="fmt", metavar="FORMAT",
                        help=f"one of {', '.join(names)}")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for the exported files (every format but mlflow)")
    parser.add_argument("--force", action="store_true",
                        help="replace an earlier export's files in an existing --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not pay for pandas.
    from beexbench.export.build import export_runs

    line = export_runs(args.run_dirs, args.fmt, args.out, replace=args.force)
    if not getattr(args, "quiet", False):
        print(line)
    return 0
