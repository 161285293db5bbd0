"""`beexbench train --model M --dataset D --preset P [--seed S] [--force]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.train import TrainRequest, train_model


def run(args: argparse.Namespace) -> int:
    request = TrainRequest(args.model, args.dataset, args.preset, args.seed, args.data_dir)
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
    p.set_defaults(func=run)
