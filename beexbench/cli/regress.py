"""`beexbench regress --baseline FILE RUN_DIR [--update] [--format F]`: gate a run."""

from __future__ import annotations

import argparse
import sys

# The --format choices; beexbench.regress.formats renders json and junit (kept in step by
# a test, since importing it here would pull scipy into every --help).
FORMATS = ("text", "json", "junit")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "regress",
        help="compare a run with the committed baseline; exit 1 on regression",
        description="Gate structural figures (sizes, op counts) exactly, learned figures "
        "(accuracy, exits, expected ops) within the baseline's tolerances, and flag noisy "
        "figures (latency, energy) when both a ratio and a Mann-Whitney U test agree. "
        "The baseline format is documented in beexbench/regress/baseline.py.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory to check")
    parser.add_argument("--baseline", required=True, metavar="FILE",
                        help="baseline JSON (e.g. results/baseline.json)")
    parser.add_argument("--update", action="store_true",
                        help="write the baseline from RUN_DIR instead of comparing")
    parser.add_argument("--gate-noisy", action="store_true",
                        help="flagged latency/energy/memory figures fail too")
    parser.add_argument("--acc-tol", type=float, default=None, metavar="PTS",
                        help="accuracy tolerance in points (default: the baseline's acc_abs_tol)")
    parser.add_argument("--noisy-factor", type=float, default=None, metavar="X",
                        help="ratio that flags a noisy figure (default: baseline's noisy_factor)")
    parser.add_argument("--format", choices=FORMATS, default="text", dest="fmt",
                        help="text: the table of what moved; json: every finding as a JSON "
                        "object; junit: JUnit XML, one testcase per finding (--update "
                        "ignores it)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not pay for pandas and scipy.
    from pathlib import Path

    from beexbench.core.errors import UsageError
    from beexbench.regress.baseline import build_baseline, load_baseline, write_baseline
    from beexbench.regress.compare import Options, compare, failing, render_findings
    from beexbench.regress.formats import findings_json, findings_junit
    from beexbench.results.rundir import load_run

    for name, value in (("--acc-tol", args.acc_tol), ("--noisy-factor", args.noisy_factor)):
        if value is not None and not (0 <= value < float("inf")):
            raise UsageError(f"{name} must be a finite number >= 0, got {value}")
    run_ = load_run(args.run_dir)
    if run_.results.empty:
        raise UsageError(f"{args.run_dir}/results.csv: no result rows")
    if args.update:
        previous = load_baseline(args.baseline) if Path(args.baseline).exists() else None
        baseline = build_baseline(run_, previous)
        write_baseline(args.baseline, baseline)
        if not getattr(args, "quiet", False):
            print(f"regress: wrote {args.baseline} ({len(baseline['entries'])} figures)")
        return 0
    fmt = getattr(args, "fmt", "text")
    baseline = load_baseline(args.baseline)
    source = baseline.get("source", {})
    for field in ("target", "preset", "dataset"):
        here = ", ".join(sorted(set(run_.results[field])))
        if source.get(field) not in (None, here):
            # Not an error (a new preset's first run), but the reader should know; on
            # stderr where stdout is for a machine.
            print(f"regress: note: baseline {field} is {source[field]}, this run's is {here}",
                  file=sys.stdout if fmt == "text" else sys.stderr)
    findings = compare(baseline, run_, Options(acc_abs_tol=args.acc_tol,
                                               noisy_factor=args.noisy_factor))
    if fmt == "json":
        print(findings_json(findings, args.gate_noisy))
    elif fmt == "junit":
        print(findings_junit(findings, args.gate_noisy))
    else:
        print(render_findings(findings, args.gate_noisy))
    return 1 if failing(findings, args.gate_noisy) else 0
