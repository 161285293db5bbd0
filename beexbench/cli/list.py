"""`beexbench list {models,datasets,policies,targets,runtimes,presets}`: names and descriptions."""

from __future__ import annotations

import argparse

KINDS = ("models", "datasets", "policies", "targets", "runtimes", "presets")


def described(kind: str) -> list[tuple[str, str]]:
    """(name, one-line description) of every registered entry of a kind, plugins included."""
    if kind == "models":
        from beexbench.models.registry import MODELS, model_names

        return [(n, MODELS.describe(n)) for n in model_names()]
    if kind == "datasets":
        from beexbench.data.registry import DATASETS, dataset_names

        return [(n, DATASETS.describe(n)) for n in dataset_names()]
    if kind == "policies":
        from beexbench.models.exits import POLICIES

        return [(n, POLICIES.describe(n)) for n in POLICIES.names()]
    if kind == "runtimes":
        from beexbench.runtimes.registry import RUNTIMES

        return [(n, RUNTIMES.describe(n)) for n in RUNTIMES.names()]
    if kind == "presets":
        from beexbench.config import PRESETS

        return [(n, _preset_shape(PRESETS.get(n))) for n in PRESETS.names()]
    from beexbench.targets.registry import TARGETS

    return [(n, TARGETS.describe(n)) for n in TARGETS.names()]


def _preset_shape(preset) -> str:
    return (f"d_model {preset.d_model}, {preset.heads} heads, {preset.blocks} blocks, "
            f"max length {preset.max_len}, vocab {preset.vocab_size}")


def names(kind: str) -> list[str]:
    return [name for name, _ in described(kind)]


def run(args: argparse.Namespace) -> int:
    rows = described(args.kind)
    width = max((len(n) for n, _ in rows), default=0)
    for name, text in rows:
        print(f"{name:<{width}}  {text}".rstrip())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered names, with a line on each")
    p.add_argument("kind", choices=KINDS, help="which registry")
    p.set_defaults(func=run)
