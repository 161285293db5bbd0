"""`beexbench train --model M --dataset D --preset P [--seed S] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.core.errors import UsageError

DEFAULTS = BenchConfig()


def run(args: argparse.Namespace) -> int:
    from beexbench.train.loop import TrainRequest, train_model, tune

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
    p = sub.add_parser("train", help="train one model from scratch (cached by config hash)",
                       description="Train one model, or reuse its cached checkpoint "
                                   "(BEEXBENCH_CHECKPOINTS, default "
                                   "$XDG_CACHE_HOME/beexbench/checkpoints).")
    p.add_argument("--model", required=True, metavar="M",
                   help="model name (`beexbench list models`)")
    p.add_argument("--dataset", default=DEFAULTS.dataset, metavar="D",
                   help="dataset name (`beexbench list datasets`)")
    p.add_argument("--preset", default=DEFAULTS.preset, metavar="P",
                   help="model shape and schedule (`beexbench list presets`)")
    p.add_argument("--seed", type=int, default=DEFAULTS.seeds[0], metavar="S", help="training seed")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="directory of GLUE TSV files, for glue-* datasets")
    p.add_argument("--force", action="store_true",
                   help="retrain and replace the cached checkpoint")
    p.add_argument("--tune", action="store_true",
                   help="train the family's recipe grid and keep the best on the validation "
                        "split (every trial recorded in the checkpoint)")
    p.set_defaults(func=run)
