"""`beexbench bench --target T --models M1,M2|all --dataset D --preset P ...`."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.bench.config import LOOP_DEFAULTS, BenchConfig
from harness.bench.runner import DEFAULT_MODELS, run_bench
from harness.bench.runtimes import FAKE_QUANT, RUNTIMES, parse_runtimes
from harness.config import PRESETS
from harness.errors import UsageError
from harness.metrics.latency import LoopSettings
from harness.report.rundir import load_run
from harness.results.summary import build_summary, console_table
from models.registry import resolve_models


def loop_from_args(args: argparse.Namespace) -> LoopSettings | None:
    given = {k: getattr(args, k) for k in ("warmup", "min_queries", "min_seconds", "batch_size")
             if getattr(args, k) is not None}
    if not given:
        return None
    base = LOOP_DEFAULTS.get(args.preset, LOOP_DEFAULTS["small"])
    return LoopSettings(**{**base.__dict__, **given})  # it checks the ranges


def seeds_from_args(args: argparse.Namespace) -> tuple[int, ...]:
    """--seeds 0,1,2 (or the one --seed); BenchConfig checks they are distinct and in range."""
    if args.seeds is None:
        texts = [args.seed if args.seed is not None else "0"]
    elif args.seed is not None:
        raise UsageError("give --seed or --seeds, not both")
    else:
        texts = [t.strip() for t in args.seeds.split(",") if t.strip()]
    try:
        seeds = tuple(int(t) for t in texts)
    except ValueError:
        raise UsageError(f"--seeds must be integers separated by commas, got {args.seeds!r}") \
            from None
    return seeds


def run(args: argparse.Namespace) -> int:
    PRESETS.get(args.preset)
    cfg = BenchConfig(
        target=args.target, models=resolve_models(args.models), dataset=args.dataset,
        preset=args.preset, seeds=seeds_from_args(args), split=args.split,
        threads=args.threads, runtimes=parse_runtimes(args.runtimes), loop=loop_from_args(args),
        energy=not args.no_energy,
        data_dir=str(args.data_dir) if args.data_dir else None,
    )
    if args.repair and not args.resume:
        raise UsageError("--repair goes with --resume (it repairs the run being resumed)")
    root = run_bench(cfg, args.out, args.resume, args.quiet, repair=args.repair)
    print(console_table(build_summary(load_run(root).results)))
    print(f"results: {root}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure models on a target (trains missing checkpoints)")
    p.add_argument("--target", default="cpu")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="comma-separated names, or 'all'")
    p.add_argument("--dataset", default="rt-polarity")
    p.add_argument("--preset", default="small")
    p.add_argument("--seed", default=None, help="one training seed (default 0)")
    p.add_argument("--seeds", default=None, metavar="S1,S2",
                   help="training seeds, each trained and measured (default: 0)")
    p.add_argument("--split", default="test", choices=("val", "test"))
    p.add_argument("--out", type=Path, default=None, help="run directory (default results/<id>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--repair", action="store_true",
                   help="with --resume: measure again the models whose files are damaged")
    p.add_argument("--runtimes", default=FAKE_QUANT, metavar="R1,R2",
                   help=f"comma-separated, each model under every one that applies to it: "
                        f"{', '.join(RUNTIMES)}")
    # The one-runtime spelling of earlier versions: a one-item --runtimes.
    p.add_argument("--runtime", dest="runtimes", metavar="R", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: all)")
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--min-queries", type=int, default=None)
    p.add_argument("--min-seconds", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="Offline batch size")
    p.add_argument("--no-energy", action="store_true", help="skip the energy loops")
    p.add_argument("--data-dir", type=Path, default=None)
    p.set_defaults(func=run)
