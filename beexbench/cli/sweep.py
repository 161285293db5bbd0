"""`beexbench sweep --models M1,M2 --seeds 0,1 --targets cpu,cuda,arm --out SWEEP_DIR ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beexbench.cli.bench import DEFAULTS, add_measure_options, add_workload_options

EXECUTORS = ("local", "ray")


def _names(text: str, option: str) -> tuple[str, ...]:
    from beexbench.core.errors import UsageError

    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise UsageError(f"{option} is empty")
    return names


def run(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays light (no torch, no ray).
    from beexbench.cli.bench import loop_from_args, seeds_from_args
    from beexbench.config import PRESETS
    from beexbench.core.errors import UsageError
    from beexbench.models.registry import resolve_models
    from beexbench.runtimes.registry import parse_runtimes
    from beexbench.sweep.config import SweepConfig
    from beexbench.sweep.runner import run_sweep
    from beexbench.targets.registry import TARGETS

    PRESETS.get(args.preset)
    targets = _names(args.targets, "--targets")
    for name in targets:
        TARGETS.get(name)  # an unknown name is one line, before any work
    if args.retries < 0:
        raise UsageError("--retries must be >= 0")
    cfg = SweepConfig(
        models=resolve_models(args.models), targets=targets,
        dataset=args.dataset, preset=args.preset,
        seeds=seeds_from_args(argparse.Namespace(seeds=args.seeds, seed=None)),
        split=args.split, threads=args.threads,
        runtimes=parse_runtimes(args.runtimes),
        loop=loop_from_args(args), energy=not args.no_energy,
        data_dir=str(args.data_dir) if args.data_dir else None,
    )
    if args.executor == "ray":
        from beexbench.sweep.local import LocalExecutor
        from beexbench.sweep.ray_executor import RayExecutor

        here = tuple(sorted(set(targets) - set(LocalExecutor(True).unschedulable(targets))))
        executor = RayExecutor(args.address, args.retries, args.quiet, offer_here=here)
    else:
        if args.address:
            raise UsageError("--address needs --executor ray")
        from beexbench.sweep.local import LocalExecutor

        executor = LocalExecutor(args.quiet)
    try:
        outcome = run_sweep(cfg, args.out, args.resume, executor, args.quiet)
    finally:
        executor.close()
    total = len(outcome.done) + len(outcome.missing)
    for name, reason in outcome.missing.items():
        print(f"beexbench: cell {name} missing: {reason}", file=sys.stderr)
    print(f"sweep: {len(outcome.done)} of {total} cells done, "
          f"{len(outcome.trained)} checkpoints trained: {outcome.root}")
    return 0 if not outcome.missing else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="train each model and seed once, measure it on every target",
        description="Train each (model, seed) once and measure it on every target, on this "
        "machine or over a Ray cluster. SWEEP_DIR/<target>/seed-<S>/ is a run directory; "
        "`beexbench report SWEEP_DIR` reads them all. Exit status 1 when a cell is missing.")
    add_workload_options(p)
    p.add_argument("--seeds", default=",".join(map(str, DEFAULTS.seeds)), metavar="S1,S2",
                   help="training seeds")
    p.add_argument("--targets", default=DEFAULTS.target, metavar="T1,T2",
                   help="targets every model is measured on (`beexbench targets`)")
    p.add_argument("--out", type=Path, required=True, metavar="SWEEP_DIR",
                   help="sweep directory")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep: finished cells are kept, the rest run again")
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="local: this machine; ray: a Ray cluster (the ray extra)")
    p.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="Ray head to join (default: start Ray on this machine); needs "
                        "--executor ray")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="Ray: times a cell whose worker or node died runs again")
    add_measure_options(p, threads="every core of the measuring node", loop="as for bench")
    p.set_defaults(func=run)
