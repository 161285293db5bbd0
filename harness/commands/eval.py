"""`beexbench eval --checkpoint DIR [--split test] [--policy NAME] [--out DIR]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.checkpoint import load_checkpoint
from harness.data.registry import load_dataset
from harness.errors import UsageError
from harness.metrics.catalog import require
from harness.predictions import encode_split, predict
from models.exits import make_policy
from models.registry import get_model_spec


def run(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    policy_name = args.policy or get_model_spec(ckpt.model_name).default_policy
    if args.param is not None:
        policy = make_policy(policy_name, args.param, origin="--param")
    else:
        policy = make_policy(policy_name, ckpt.policy_param(policy_name))
    data = load_dataset(ckpt.meta["dataset"], args.data_dir)
    split = encode_split(ckpt, data, args.split)
    table = predict(ckpt, split, policy)
    metrics = table.metrics()
    out = args.out or Path("results") / "eval" / f"{ckpt.path.name}--{args.split}--{policy.name}"
    path = out / "predictions.csv"
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite or choose another --out")
    table.write(path)
    print(f"{ckpt.model_name} on {ckpt.meta['dataset']} ({args.split}, {len(table.labels)} "
          f"samples), policy {policy.describe()}")
    for name, value in metrics.items():
        print(f"  {name:32s} {value:8.2f} {require(name).unit}")
    print(f"predictions: {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint: accuracy per exit and under a policy")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--policy", default=None, help="exit policy (default: the model's)")
    p.add_argument("--param", type=float, default=None, help="policy parameter (default: "
                   "the calibrated one)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--force", action="store_true", help="overwrite an existing predictions file")
    p.set_defaults(func=run)
