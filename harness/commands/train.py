"""`beexbench train --model M --dataset D --preset P [--seed S] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import UsageError
from harness.train import TrainRequest, train_model, tune


def run(args: argparse.Namespace) -> int:
    request = TrainRequest(args.model, args.dataset, args.preset, args.seed, args.data_dir)
    if args.tune:
        if args.force:
            raise UsageError("--tune reuses cached trials; it does not take --force")
        ckpt, trials = tune(request, quiet=args.quiet)
        for trial in trials:
            mark = "*" if trial["checkpoint"] == ckpt.path.name else " "
            r = trial["recipe"]
            print(f"{mark} val acc {trial['best_val_acc']:6.2f}%  lr {r['lr']:g}  binary lr "
                  f"{r['binary_lr']:g}  warm-up {r['warmup_frac']:g}  {r['epochs']} epochs")
        print(f"chosen on validation (*): {ckpt.path}")
        return 0
    ckpt = train_model(request, force=args.force, quiet=args.quiet)
    print(ckpt.path)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model from scratch (cached by config hash)")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", default="rt-polarity")
    p.add_argument("--preset", default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=None, help="GLUE TSV directory")
    p.add_argument("--force", action="store_true", help="retrain even if cached")
    p.add_argument("--tune", action="store_true",
                   help="train the family's recipe grid and keep the best on the validation "
                        "split (every trial recorded in the checkpoint)")
    p.set_defaults(func=run)
