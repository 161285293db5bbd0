"""`beexbench count --models M1,M2 --preset P [--length N] [--json]`: sizes and op
counts of untrained models of a preset's shape, with no training and no data.

The figures are bench's own (same metric names, same code): `model_bytes` of a packed
artifact written to a temporary directory, parameter counts, and macs/flops/bops/ops
per exit at the given length (default: the preset's max length, as bench counts).
"""

from __future__ import annotations

import argparse
import json
import logging

from beexbench.core.errors import UsageError

log = logging.getLogger(__name__)


def _shown(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def format_table(rows: list[dict]) -> str:
    header = ("model", "metric", "value", "unit")
    lines = [header] + [(r["model"], r["metric"], _shown(r["value"]), r["unit"]) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    return "\n".join(f"{m:<{widths[0]}}  {k:<{widths[1]}}  {v:>{widths[2]}}  {u}"
                     for m, k, v, u in lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from beexbench.config import PRESETS
    from beexbench.measure.counting import count_model, tidy_rows
    from beexbench.models.registry import resolve_models

    preset = PRESETS.get(args.preset)
    names = resolve_models(args.models)
    length = preset.max_len if args.length is None else args.length
    if not 1 <= length <= preset.max_len:
        raise UsageError(f"--length {length}: preset {preset.name!r} takes 1..{preset.max_len}")
    rows = []
    for name in names:
        log.info("[%s] counting at %s shape, length %d", name, preset.name, length)
        counted = count_model(name, preset, length)
        if counted.unsupported:
            missed = ", ".join(f"{op} ({n})" for op, n in counted.unsupported.items())
            log.warning("[%s] ops fvcore could not count: %s", name, missed)
        rows += tidy_rows(name, preset, length, counted)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("count", help="sizes and op counts of untrained models of a preset's "
                                     "shape (no training, no data)")
    p.add_argument("--models", required=True, metavar="M1,M2",
                   help="comma-separated model names, or 'all' (`beexbench list models`)")
    p.add_argument("--preset", required=True, metavar="P",
                   help="the shape counted (`beexbench list presets`)")
    p.add_argument("--length", type=int, default=None, metavar="N",
                   help="tokens per sample (default: the preset's max length)")
    p.add_argument("--json", action="store_true", help="print the tidy rows as a JSON list")
    p.set_defaults(func=run)
