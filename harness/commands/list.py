"""`beexbench list {models,datasets,policies,targets,presets}`."""

from __future__ import annotations

import argparse

KINDS = ("models", "datasets", "policies", "targets", "presets")


def names(kind: str) -> list[str]:
    if kind == "models":
        from models.registry import model_names

        return model_names()
    if kind == "datasets":
        from harness.data.registry import dataset_names

        return dataset_names()
    if kind == "policies":
        from models.exits import POLICIES

        return POLICIES.names()
    if kind == "presets":
        from harness.config import PRESETS

        return PRESETS.names()
    from targets.registry import TARGETS

    return TARGETS.names()


def run(args: argparse.Namespace) -> int:
    for name in names(args.kind):
        print(name)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered names")
    p.add_argument("kind", choices=KINDS)
    p.set_defaults(func=run)
