"""The command line: `main` parses, and every other module is one subcommand.

Each subcommand module defines `add_parser(subparsers)`, which registers the subcommand
and sets `func` (args -> exit status) as its default.
"""
