"""`beexbench sweep --models M1,M2 --seeds 0,1 --targets cpu,cuda,arm --out SWEEP_DIR ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXECUTORS = ("local", "ray")


def _names(text: str, option: str) -> tuple[str, ...]:
    from harness.errors import UsageError

    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise UsageError(f"{option} is empty")
    return names


def run(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays light (no torch, no ray).
    from harness.bench.runner import DEFAULT_MODELS
    from harness.bench.runtimes import FAKE_QUANT, parse_runtimes
    from harness.commands.bench import loop_from_args, seeds_from_args
    from harness.config import PRESETS
    from harness.errors import UsageError
    from harness.sweep.config import SweepConfig
    from harness.sweep.runner import run_sweep
    from models.registry import resolve_models
    from targets.registry import TARGETS

    PRESETS.get(args.preset)
    targets = _names(args.targets, "--targets")
    for name in targets:
        TARGETS.get(name)  # an unknown name is one line, before any work
    if args.retries < 0:
        raise UsageError("--retries must be >= 0")
    cfg = SweepConfig(
        models=resolve_models(args.models or ",".join(DEFAULT_MODELS)), targets=targets,
        dataset=args.dataset, preset=args.preset,
        seeds=seeds_from_args(argparse.Namespace(seeds=args.seeds, seed=None)),
        split=args.split, threads=args.threads,
        runtimes=parse_runtimes(args.runtimes or FAKE_QUANT),
        loop=loop_from_args(args), energy=not args.no_energy,
        data_dir=str(args.data_dir) if args.data_dir else None,
    )
    if args.executor == "ray":
        from harness.sweep.local import LocalExecutor
        from harness.sweep.ray_executor import RayExecutor

        here = tuple(sorted(set(targets) - set(LocalExecutor(True).unschedulable(targets))))
        executor = RayExecutor(args.address, args.retries, args.quiet, offer_here=here)
    else:
        if args.address:
            raise UsageError("--address needs --executor ray")
        from harness.sweep.local import LocalExecutor

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
    p.add_argument("--models", default=None,
                   help="comma-separated names, or 'all' (default: bench's default models)")
    p.add_argument("--seeds", default="0", metavar="S1,S2", help="training seeds (default 0)")
    p.add_argument("--targets", default="cpu", metavar="T1,T2",
                   help="targets every model is measured on (default cpu)")
    p.add_argument("--dataset", default="rt-polarity")
    p.add_argument("--preset", default="small")
    p.add_argument("--split", default="test", choices=("val", "test"))
    p.add_argument("--out", type=Path, required=True, metavar="SWEEP_DIR",
                   help="sweep directory")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep: finished cells are kept, the rest run again")
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="local: this machine (default); ray: a Ray cluster (the ray extra)")
    p.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="Ray head to join (default: start Ray on this machine); needs "
                        "--executor ray")
    p.add_argument("--retries", type=int, default=2,
                   help="Ray: times a cell whose worker or node died runs again (default 2)")
    p.add_argument("--runtimes", default=None, metavar="R1,R2",
                   help="runtimes, as for bench (default fake-quant)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: all)")
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--min-queries", type=int, default=None)
    p.add_argument("--min-seconds", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="Offline batch size")
    p.add_argument("--no-energy", action="store_true", help="skip the energy loops")
    p.add_argument("--data-dir", type=Path, default=None)
    p.set_defaults(func=run)
