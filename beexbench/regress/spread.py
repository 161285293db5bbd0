"""How far learned figures drift between runs of the same code: the evidence for tolerances.

    python -m beexbench.regress.spread RUN_DIR RUN_DIR [...]

Give it runs that trained the same models from scratch under conditions that change
floating-point order (thread counts, ATEN_CPU_CAPABILITY, another CPU). For each
tolerance kind of the catalogue it prints the largest spread (max - min over the
runs) of any learned figure, in the kind's own unit: points, blocks, or the share of
eval samples moving between the shallowest and deepest exit. The baseline's
defaults must sit above these with a margin. Structural figures must not differ at
all; any that do are listed, since they would fail the gate.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from beexbench.core.errors import UsageError
from beexbench.measure import catalog as M
from beexbench.regress.baseline import build_baseline, key_metric
from beexbench.regress.compare import exit_span_width, exit_spans
from beexbench.results.rundir import load_run


@dataclass(frozen=True)
class Spread:
    key: str
    kind: str  # the tolerance kind, or "structural"
    spread: float  # in the kind's unit


def spreads(entry_sets: list[dict]) -> list[Spread]:
    """The spread of every figure that all runs hold and that is not noisy."""
    spans = exit_spans(entry_sets[0])
    common = set(entry_sets[0]).intersection(*entry_sets[1:])
    out = []
    for key in sorted(common):
        cat = M.lookup(key_metric(key))
        if cat is None or cat.gate == M.NOISY:
            continue
        values = [entries[key]["value"] for entries in entry_sets]
        spread = max(values) - min(values)
        if cat.gate == M.STRUCTURAL:
            if spread:
                out.append(Spread(key, M.STRUCTURAL, spread))
            continue
        if cat.tolerance == "exit_share_tol":
            width = exit_span_width(key, cat, spans) or 0.0
            spread = spread / width if width else (0.0 if not spread else float("inf"))
        out.append(Spread(key, cat.tolerance, spread))
    return out


def render(found: list[Spread], top: int = 5) -> str:
    lines = []
    for kind in ("acc_abs_tol", "exit_abs_tol", "exit_share_tol", M.STRUCTURAL):
        part = sorted((s for s in found if s.kind == kind), key=lambda s: -s.spread)
        if not part:
            continue
        lines.append(f"{kind}: max spread {part[0].spread:.4g} over {len(part)} figures")
        lines += [f"  {s.spread:10.4g}  {s.key}" for s in part[:top]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beexbench.regress.spread",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--top", type=int, default=5, help="figures listed per kind")
    args = parser.parse_args(argv)
    try:
        if len(args.runs) < 2:
            raise UsageError("give at least two run directories")
        entry_sets = [build_baseline(load_run(path))["entries"] for path in args.runs]
    except UsageError as exc:
        print(f"spread: {exc}", file=sys.stderr)
        return 2
    print(render(spreads(entry_sets), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
