"""`beexbench` command line: one subcommand per module in harness.commands."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import harness.commands
from harness.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """Argument errors are one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="beexbench",
        description="Benchmark binarized, early-exit transformers on your hardware.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(harness.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"harness.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"beexbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("beexbench: interrupted", file=sys.stderr)
        return 130
