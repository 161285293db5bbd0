"""`beexbench eval --checkpoint DIR [--split test] [--policy NAME] [--out DIR]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from beexbench.core.errors import UsageError

log = logging.getLogger(__name__)


def policy_param(ckpt, policy_name: str, given: float | None, data) -> float | None:
    """The parameter to run `policy_name` with: `--param`, else the checkpoint's calibrated
    one, else one calibrated now on the validation split by the rule training uses
    (beexbench.train.calibrate); a policy with nothing to calibrate over is refused."""
    from beexbench.bench.predictions import encode_split
    from beexbench.measure.evaluate import record_exits
    from beexbench.models.exits import make_policy
    from beexbench.train.calibrate import choose, sweep

    policy = make_policy(policy_name)
    if given is not None or not policy.param_name:
        return given
    stored = ckpt.policy_param(policy_name)
    if stored is not None:
        return stored
    if not type(policy).grid:
        raise UsageError(f"--policy {policy_name}: checkpoint {ckpt.path} has no calibrated "
                         f"{policy.param_name} for it and the policy has no grid to calibrate "
                         f"on; pass --param")
    val = encode_split(ckpt, data, "val")
    record = record_exits(ckpt.model, val.ids, val.lengths)
    chosen = choose(sweep(record, val.labels, policy_name))
    log.info("%s: not calibrated in the checkpoint; calibrated on validation: %s %g "
             "(val acc %.2f%%)", policy_name, policy.param_name, chosen.param, chosen.acc)
    return chosen.param


def run(args: argparse.Namespace) -> int:
    from beexbench.bench.predictions import encode_split, predict
    from beexbench.data.registry import load_dataset
    from beexbench.measure.catalog import require
    from beexbench.models.exits import make_policy
    from beexbench.models.registry import get_model_spec
    from beexbench.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.checkpoint)
    policy_name = args.policy or get_model_spec(ckpt.model_name).default_policy
    # An unknown name or an out-of-range --param fails before any data is read.
    given = make_policy(policy_name, args.param, origin="--param")
    data = load_dataset(ckpt.meta["dataset"], args.data_dir)
    policy = given if args.param is not None else \
        make_policy(policy_name, policy_param(ckpt, policy_name, None, data))
    out = args.out or Path("results") / "eval" / f"{ckpt.path.name}--{args.split}--{policy.name}"
    path = out / "predictions.csv"
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite or choose another --out")
    split = encode_split(ckpt, data, args.split)
    table = predict(ckpt, split, policy)
    metrics = table.metrics()
    table.write(path)
    print(f"{ckpt.model_name} on {ckpt.meta['dataset']} ({args.split}, {len(table.labels)} "
          f"samples), policy {policy.describe()}")
    for name, value in metrics.items():
        print(f"  {name:32s} {value:8.2f} {require(name).unit}")
    print(f"predictions: {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint: accuracy per exit and under a policy")
    p.add_argument("--checkpoint", type=Path, required=True, metavar="DIR",
                   help="checkpoint directory (what `train` prints)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"),
                   help="the split evaluated")
    p.add_argument("--policy", default=None, metavar="NAME",
                   help="exit policy (default: the model's; `beexbench list policies`)")
    p.add_argument("--param", type=float, default=None, metavar="X",
                   help="policy parameter (default: the checkpoint's calibrated one, else "
                        "calibrated now on the validation split)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="directory of GLUE TSV files, for glue-* datasets")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output directory (default: results/eval/<checkpoint>--<split>--"
                        "<policy>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing predictions file")
    p.set_defaults(func=run)
