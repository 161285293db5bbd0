"""Training from scratch (no distillation), checkpoint caching and policy calibration.

Loss over all exits: L = sum_i w_i * CE(p_i, y), with w_i = i / sum_j j ("soft
routing": deeper exits weigh more). AdamW (its fused kernel); latent binary weights and their scales
take `binary_lr`, everything else `lr`; linear warm-up then linear decay. Batches are
shuffled but hold samples of similar length (less padding). Seeded, on
the preset's fixed thread count: on one CPU the same torch build gives the same
checkpoint bits; another CPU (vendor, SIMD path) rounds in another order and drifts a
little. The epoch with the best validation accuracy of the last exit is kept.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from beexbench.config import MAX_SEED, PRESETS, Preset, config_hash
from beexbench.core.atomic import atomic_write_text
from beexbench.core.log import bar
from beexbench.core.ranges import check_int
from beexbench.data.base import TextDataset
from beexbench.data.registry import load_dataset
from beexbench.data.splits import stratified_split
from beexbench.data.tokenizer import encode, train_tokenizer
from beexbench.measure.evaluate import record_exits
from beexbench.models.binarize import BinaryEmbedding, BinaryLinear
from beexbench.models.exits import make_policy
from beexbench.models.registry import get_model_spec
from beexbench.models.transformer import EncoderClassifier, ModelConfig
from beexbench.targets.threads import set_host_threads
from beexbench.train.calibrate import choose, sweep
from beexbench.train.checkpoint import Checkpoint, checkpoint_path, load_checkpoint, save_checkpoint
from beexbench.train.recipes import Recipe, recipe_for, tune_candidates

log = logging.getLogger(__name__)

# Bump when a change to the code changes what training produces: it keys the cache.
TRAINING_CODE_VERSION = 12  # 12: checkpoints hash their tokenizer


@dataclass(frozen=True)
class TrainRequest:
    model: str
    dataset: str
    preset: str
    seed: int = 0
    data_dir: Path | None = None
    recipe_override: Recipe | None = None  # a candidate of `train --tune`

    def __post_init__(self) -> None:
        check_int("--seed", self.seed, 0, MAX_SEED)

    def preset_config(self) -> Preset:
        return PRESETS.get(self.preset)

    def recipe(self) -> tuple[Recipe, str]:
        """The recipe this request trains with, and where it comes from."""
        if self.recipe_override is not None:
            return self.recipe_override, "a --tune candidate"
        return recipe_for(get_model_spec(self.model).family, self.preset_config())

    def key(self) -> str:
        get_model_spec(self.model)  # an unknown name fails before any work
        return config_hash({
            "model": self.model, "dataset": self.dataset, "seed": self.seed,
            "preset": self.preset_config().to_dict(), "recipe": self.recipe()[0].to_dict(),
            "code": TRAINING_CODE_VERSION,
        })

    def checkpoint_dir(self) -> Path:
        return checkpoint_path(f"{self.model}--{self.dataset}--{self.preset}--{self.key()}")


_FUSED_ADAMW = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2]
                     if part.isdigit()) >= (2, 4)


def exit_weights(n_exits: int) -> torch.Tensor:
    idx = torch.arange(1, n_exits + 1, dtype=torch.float32)
    return idx / idx.sum()


# Batches are drawn from pools of this many batches' worth of shuffled samples, sorted
# by length within the pool: on rt-polarity (`small`) the mean padded width of a batch
# falls from 56 tokens to 30, and an epoch's compute with it.
SORTISH_POOL = 8


def sortish_batches(indices: torch.Tensor, lengths: torch.Tensor, batch_size: int,
                    gen: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches: shuffle, sort each pool by length, cut, shuffle the batches."""
    order = indices[torch.randperm(len(indices), generator=gen)]
    batches: list[torch.Tensor] = []
    for pool in order.split(batch_size * SORTISH_POOL):
        pool = pool[torch.argsort(lengths[pool], stable=True)]
        batches += list(pool.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def param_groups(model: EncoderClassifier, preset: Preset, recipe: Recipe) -> list[dict]:
    binary, decay, plain = [], [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, BinaryLinear | BinaryEmbedding) and name in ("weight", "alpha"):
                binary.append(p)
            elif name == "weight" and p.dim() == 2:
                decay.append(p)
            else:
                plain.append(p)
    return [
        {"params": binary, "lr": recipe.binary_lr, "weight_decay": 0.0},
        {"params": decay, "lr": recipe.lr, "weight_decay": preset.weight_decay},
        {"params": plain, "lr": recipe.lr, "weight_decay": 0.0},
    ]


def _progress(quiet: bool, message: str) -> None:
    if not quiet:
        log.info(message)


@contextmanager
def training_threads(preset: Preset) -> Iterator[int]:
    """torch's intra-op threads set to the preset's training threads, restored after."""
    before = torch.get_num_threads()
    try:
        yield set_host_threads(preset.train_threads)
    finally:
        torch.set_num_threads(before)


def train_model(request: TrainRequest, force: bool = False, quiet: bool = False,
                data: TextDataset | None = None) -> Checkpoint:
    """Train (or reuse the cached checkpoint of) one model; returns the loaded checkpoint."""
    path = request.checkpoint_dir()
    if path.exists() and not force:
        _progress(quiet, f"[{request.model}] reusing checkpoint {path.name}")
        return load_checkpoint(path)
    with training_threads(request.preset_config()):
        _train(request, path, quiet, data)
    return load_checkpoint(path)


def _train(request: TrainRequest, path: Path, quiet: bool, data: TextDataset | None) -> None:
    preset = request.preset_config()
    recipe, recipe_source = request.recipe()
    spec = get_model_spec(request.model)
    data = data or load_dataset(request.dataset, request.data_dir)
    splits = stratified_split(data, request.seed)
    torch.manual_seed(request.seed)
    tokenizer = train_tokenizer([data.texts[i] for i in splits.train], preset.vocab_size)
    labels = torch.tensor(data.labels)
    ids, lengths = encode(tokenizer, data.texts, preset.max_len)

    cfg = spec.config(ModelConfig(
        vocab_size=tokenizer.get_vocab_size(), n_classes=data.n_classes,
        d_model=preset.d_model, heads=preset.heads, blocks=preset.blocks,
        max_len=preset.max_len, dropout=preset.dropout, ffn_mult=preset.ffn_mult,
        slfn_mult=preset.slfn_mult,
    ))
    torch.manual_seed(request.seed)
    model = EncoderClassifier(cfg)
    # fused: one kernel per step for every parameter, not a loop of small ops (a tenth
    # of a CPU step at these sizes); the same update rule. torch runs it on the CPU from
    # 2.4 on (a board's older torch takes the loop).
    optimizer = torch.optim.AdamW(param_groups(model, preset, recipe), betas=(0.9, 0.98),
                                  fused=_FUSED_ADAMW)
    train_idx = torch.tensor(splits.train)
    val_idx = torch.tensor(splits.val)
    steps_per_epoch = -(-len(train_idx) // preset.batch_size)
    total = steps_per_epoch * recipe.epochs
    warmup = max(1, int(total * recipe.warmup_frac))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))
    weights = exit_weights(len(model.exit_blocks))
    gen = torch.Generator().manual_seed(request.seed)

    best_acc, best_state, history = -1.0, None, []
    started = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        total_loss = 0.0
        steps = bar(sortish_batches(train_idx, lengths, preset.batch_size, gen),
                    total=steps_per_epoch, desc=f"{request.model} epoch {epoch}/{recipe.epochs}",
                    unit="step")
        for batch in steps:
            width = int(lengths[batch].max())
            logits = model(ids[batch, :width])  # [n_exits, B, C]
            y = labels[batch]
            loss = sum(w * F.cross_entropy(lg, y) for w, lg in zip(weights, logits, strict=True))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total_loss += loss.item()
        record = record_exits(model, ids[val_idx], lengths[val_idx])
        val_acc = 100.0 * float((record.preds[-1] == labels[val_idx]).float().mean())
        history.append({"epoch": epoch, "loss": total_loss / steps_per_epoch, "val_acc": val_acc})
        _progress(quiet, f"[{request.model}] epoch {epoch}/{recipe.epochs} "
                         f"loss {total_loss / steps_per_epoch:.4f} val acc {val_acc:.2f}% "
                         f"({time.perf_counter() - started:.0f} s)")
        if val_acc > best_acc:
            best_acc = val_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    train_seconds = time.perf_counter() - started
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()

    record = record_exits(model, ids[val_idx], lengths[val_idx])
    policies = {}
    for policy in spec.policies:
        if not make_policy(policy).param_name:
            policies[policy] = {"param": None}
            continue
        points = sweep(record, labels[val_idx], policy)
        chosen = choose(points)
        policies[policy] = {"param": chosen.param, "val_acc": chosen.acc,
                            "sweep": [p.to_dict() for p in points]}
        _progress(quiet, f"[{request.model}] calibrated {policy}: param {chosen.param:g} "
                         f"(val acc {chosen.acc:.2f}%, avg exit {chosen.avg_exit_layer:.2f})")
    meta = {
        "model": request.model, "dataset": request.dataset, "preset": request.preset,
        "seed": request.seed, "key": request.key(), "preset_config": preset.to_dict(),
        "recipe": recipe.to_dict(), "recipe_source": recipe_source,
        "model_config": cfg.to_dict(), "label_names": list(data.label_names),
        "split_hash": splits.digest(), "policies": policies, "train_seconds": train_seconds,
        "history": history, "torch": torch.__version__,
        "train_threads": torch.get_num_threads(),
    }
    save_checkpoint(path, meta, model, tokenizer, splits)


def tune(request: TrainRequest, quiet: bool = False,
         data: TextDataset | None = None) -> tuple[Checkpoint, list[dict]]:
    """Train every candidate of the family's tuning grid; keep the best on validation.

    The choice reads only validation accuracy (the best epoch's, last exit). Every
    trial is recorded as `tuning` in the chosen checkpoint's checkpoint.json.
    """
    preset = request.preset_config()
    family = get_model_spec(request.model).family
    trials = []
    for recipe in tune_candidates(family, preset):
        ckpt = train_model(replace(request, recipe_override=recipe), quiet=quiet, data=data)
        best = max(h["val_acc"] for h in ckpt.meta["history"])
        trials.append({"recipe": recipe.to_dict(), "best_val_acc": best,
                       "checkpoint": ckpt.path.name})
        _progress(quiet, f"[{request.model}] tune: {recipe.describe()}: val acc {best:.2f}%")
    chosen = max(trials, key=lambda t: t["best_val_acc"])  # the first of equals wins
    path = checkpoint_path(chosen["checkpoint"])
    meta = json.loads((path / "checkpoint.json").read_text())
    meta["tuning"] = trials
    atomic_write_text(path / "checkpoint.json", json.dumps(meta, indent=2))
    return load_checkpoint(path), trials
