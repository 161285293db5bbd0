"""`beexbench bench --target T --models M1,M2|all --dataset D --preset P ...`."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from beexbench.bench.config import LOOP_DEFAULTS, BenchConfig
from beexbench.config import MAX_SEED
from beexbench.core.errors import UsageError
from beexbench.core.ranges import check_int
from beexbench.measure.latency import LoopSettings
from beexbench.runtimes.registry import RUNTIMES  # light: --help lists them without torch

DEFAULTS = BenchConfig()
LOOP_HELP = {
    "warmup": "untimed queries before each loop",
    "min_queries": "each latency loop runs at least this many queries",
    "min_seconds": "... and at least this long",
    "batch_size": "batch of the throughput (Offline) loop",
}


def loop_from_args(args: argparse.Namespace) -> LoopSettings | None:
    given = {k: getattr(args, k) for k in LOOP_HELP if getattr(args, k) is not None}
    if not given:
        return None
    base = LOOP_DEFAULTS.get(args.preset, LOOP_DEFAULTS["small"])
    return LoopSettings(**{**base.__dict__, **given})  # it checks the ranges


def seeds_from_args(args: argparse.Namespace) -> tuple[int, ...]:
    """--seeds 0,1,2 (or the one --seed); BenchConfig checks they are distinct and in range."""
    if args.seeds is None:
        texts = [args.seed if args.seed is not None else str(DEFAULTS.seeds[0])]
    elif args.seed is not None:
        raise UsageError("give --seed or --seeds, not both")
    else:
        texts = [t.strip() for t in args.seeds.split(",") if t.strip()]
    option = "--seed" if args.seeds is None else "--seeds"
    try:
        seeds = tuple(int(t) for t in texts)
    except ValueError:
        raise UsageError(f"{option} must be integers separated by commas, got "
                         f"{args.seeds if args.seeds is not None else args.seed!r}") from None
    # checked here too so that the line names the option the user gave
    for seed in seeds:
        check_int(option, seed, 0, MAX_SEED)
    return seeds


def run(args: argparse.Namespace) -> int:
    from beexbench.bench.runner import run_bench
    from beexbench.config import PRESETS
    from beexbench.models.registry import resolve_models
    from beexbench.results.rundir import load_run
    from beexbench.results.summary import build_summary, console_table
    from beexbench.runtimes.registry import parse_runtimes

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
    if args.report_dir is not None and args.report is False:
        args.report = True
    root = run_bench(cfg, args.out, args.resume, args.quiet, force=args.force,
                     repair=args.repair, machine=args.machine)
    run = load_run(root)
    summary = build_summary(run.results)
    print(console_table(summary))
    print(f"results: {root}")
    if args.report:
        from beexbench.report import build_report
        from beexbench.report.lead import TITLE, headline

        out = args.report_dir or Path("reports") / root.name
        # The report of this run is derived from it: a resumed or forced run rebuilds it.
        files = build_report([root], out, replace=args.resume or args.force)
        print(f"\n{TITLE}:")
        for line in headline([run], summary):
            print(f"- {line}")
        print(f"report: {files.markdown} and {files.html}")
    return 0


def _loop_defaults() -> str:
    return "; ".join(f"{preset}: " + ", ".join(f"{f.name} {getattr(loop, f.name):g}"
                                               for f in fields(loop))
                     for preset, loop in LOOP_DEFAULTS.items())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="measure models on a target (trains missing checkpoints)",
        description="Train what is missing, then measure every model on one target and "
                    "write a run directory of tidy result rows.",
        epilog=f"Loop defaults per preset ({_loop_defaults()}); other presets take "
               "small's.")
    p.add_argument("--target", default=DEFAULTS.target, metavar="T",
                   help="hardware target (`beexbench targets` lists them)")
    add_workload_options(p)
    p.add_argument("--seed", default=None, metavar="S",
                   help=f"one training seed (default {DEFAULTS.seeds[0]})")
    p.add_argument("--seeds", default=None, metavar="S1,S2",
                   help="training seeds, each trained and measured; rows carry `seed` "
                        f"(default: {','.join(map(str, DEFAULTS.seeds))})")
    p.add_argument("--out", type=Path, default=None, metavar="RUN_DIR",
                   help="run directory (default: results/<run_id>)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in --out, with the same arguments")
    p.add_argument("--repair", action="store_true",
                   help="with --resume: measure again the models whose files are damaged")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out run directory with a new run")
    add_measure_options(p, threads="every core the process may use", loop="below")
    p.add_argument("--machine", default=None, metavar="NAME",
                   help="this machine's name in environment.json (default: "
                        "$BEEXBENCH_MACHINE, else the host name)")
    p.add_argument("--report", action="store_true",
                   help="also write the report of the run (reports/<run directory name>) "
                        "and print its answer")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="where --report writes the report (implies --report)")
    # The one-runtime spelling of earlier versions: a one-item --runtimes.
    p.add_argument("--runtime", dest="runtimes", metavar="R", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def add_workload_options(p: argparse.ArgumentParser) -> None:
    """What is trained and measured (models, dataset, preset, split), shared by bench and
    sweep."""
    p.add_argument("--models", default=",".join(DEFAULTS.models), metavar="M1,M2",
                   help="comma-separated model names, or 'all' (`beexbench list models`)")
    p.add_argument("--dataset", default=DEFAULTS.dataset, metavar="D",
                   help="dataset name (`beexbench list datasets`)")
    p.add_argument("--preset", default=DEFAULTS.preset, metavar="P",
                   help="model shape and schedule (`beexbench list presets`)")
    p.add_argument("--split", default=DEFAULTS.split, choices=("val", "test"),
                   help="the split accuracy is measured on")


def add_measure_options(p: argparse.ArgumentParser, threads: str, loop: str) -> None:
    """The options of how each model is measured, shared by bench and sweep; `threads`
    and `loop` say where their defaults come from."""
    p.add_argument("--runtimes", default=",".join(DEFAULTS.runtimes), metavar="R1,R2",
                   help=f"comma-separated, each model under every one that applies to it: "
                        f"{', '.join(RUNTIMES.names(installed=False))} (`beexbench list "
                        f"runtimes` adds those of installed plugins)")
    p.add_argument("--threads", type=int, default=DEFAULTS.threads, metavar="N",
                   help=f"intra-op threads (default: {threads})")
    for name, text in LOOP_HELP.items():
        kind = float if name == "min_seconds" else int
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None,
                       metavar="S" if kind is float else "N",
                       help=f"{text} (default: the preset's, {loop})")
    p.add_argument("--no-energy", action="store_true", help="skip the energy loops")
    p.add_argument("--data-dir", type=Path, default=DEFAULTS.data_dir, metavar="DIR",
                   help="directory of GLUE TSV files, for glue-* datasets")
