"""`beexbench` command line: one subcommand per other module in beexbench.cli.

Command modules import only light modules at their top (argparse, the config
dataclasses, the registries' names); whatever pulls in torch is imported inside their
`run`, so that `--help`, `--version` and `list` start fast. A test holds every module
in beexbench.cli to that.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys

import beexbench.cli
from beexbench.core import log, plugins
from beexbench.core.errors import UsageError
from beexbench.core.registry import unknown
from beexbench.core.version import version

# The global options, also accepted after the subcommand (as asv's common_args):
# (flags, dest, argparse keywords).
COMMON = (
    (("-q", "--quiet"), "quiet", {"action": "store_true",
                                  "help": "warnings and errors only: no progress, no bars"}),
    (("-v", "--verbose"), "verbose", {"action": "count",
                                      "help": "debug output"}),
    (("--include",), "include", {"action": "append", "metavar": "MODULE",
                                 "help": "import a plugin module (dotted name or .py path) "
                                         "before running; repeatable; also "
                                         f"{plugins.ENV}=mod1,mod2"}),
)
_CHOICE = re.compile(r"argument (?P<arg>\S+): invalid choice: '(?P<name>[^']*)' "
                     r"\(choose from (?P<valid>.*)\)$")


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default, except where there is none worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default is None or default is False
                or default == argparse.SUPPRESS
                or not action.option_strings or action.nargs == 0
                or "default" in text):
            return text
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """Argument errors are one line and exit status 2, like every other bad input."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        match = _CHOICE.match(message)
        if match:
            valid = [v.strip().strip("'") for v in match["valid"].split(",")]
            message = f"argument {match['arg']}: " + unknown("choice", match["name"], valid)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_common(parser: argparse.ArgumentParser, after: bool) -> None:
    """The global options; after the subcommand they land in `<dest>_after` (argparse
    would otherwise let the subcommand's defaults overwrite what came before it)."""
    group = parser.add_argument_group("global options")
    for flags, dest, kwargs in COMMON:
        if after:
            group.add_argument(*flags, dest=f"{dest}_after", default=argparse.SUPPRESS,
                               **kwargs)
        else:
            group.add_argument(*flags, dest=dest, **kwargs)


def command_modules() -> list[str]:
    """Every module of beexbench.cli but this one (each one subcommand), sorted by name."""
    return sorted(info.name for info in pkgutil.iter_modules(beexbench.cli.__path__)
                  if info.name != "main")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="beexbench",
        description="Benchmark binarized, early-exit transformers on your hardware.",
        epilog="Run `beexbench COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"beexbench {version()}")
    _add_common(parser, after=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        before = set(sub.choices)
        importlib.import_module(f"beexbench.cli.{name}").add_parser(sub)
        for added in set(sub.choices) - before:
            _add_common(sub.choices[added], after=True)
    return parser


def _merge_common(args: argparse.Namespace) -> argparse.Namespace:
    """One value per global option, wherever it was given."""
    args.quiet = bool(args.quiet or getattr(args, "quiet_after", False))
    args.verbose = (args.verbose or 0) + (getattr(args, "verbose_after", None) or 0)
    args.include = (args.include or []) + (getattr(args, "include_after", None) or [])
    for dest in ("quiet_after", "verbose_after", "include_after"):
        if hasattr(args, dest):
            delattr(args, dest)
    return args


def _register_built_ins() -> None:
    """Register beexbench's own models, datasets, policies, targets and runtimes before any
    plugin is imported: they register at first use otherwise, which a plugin's import may
    trigger, and they would then count as that plugin's (beexbench.core.registry)."""
    import beexbench.runtimes.registry  # noqa: F401
    import beexbench.targets.registry  # noqa: F401
    from beexbench.data.registry import dataset_names
    from beexbench.models.registry import model_names

    model_names()
    dataset_names()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = _merge_common(parser.parse_args(argv))
    if args.command is None:
        parser.print_help()
        return 0
    if args.quiet and args.verbose:
        print("beexbench: error: -q and -v contradict each other; give one", file=sys.stderr)
        return 2
    log.configure(log.QUIET if args.quiet else min(args.verbose, 1))
    try:
        requested = plugins.requested(args.include)
        if requested:
            _register_built_ins()
            plugins.load(requested)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"beexbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("beexbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`beexbench list models | head`): stop quietly, as `ls` does;
        # stdout goes to devnull so the interpreter's own final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # What the file system refused (a name too long, a full disk, no permission) is
        # the user's to fix, not a bug: one line naming the path, as cp and mv say it.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"beexbench: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
