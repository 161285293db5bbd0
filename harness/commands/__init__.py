"""Subcommands of `beexbench`: each module defines `add_parser(subparsers)`.

`add_parser` registers the subcommand and sets `func` (args -> exit status) as its default.
"""
