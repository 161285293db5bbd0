"""Checkpoints: config + tokenizer + weights + calibrated policies + split hash.

A checkpoint is a directory, written atomically (built in a temporary sibling, then
renamed), and loaded only through safetensors and JSON: no pickle.

    checkpoint.json   format marker, model/dataset/preset/seed, ModelConfig, policies
    tokenizer.json    the WordPiece tokenizer trained on the train split
    splits.json       the train/val/test index lists
    model.safetensors the weights
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save
from tokenizers import Tokenizer

from harness.data.splits import Splits
from harness.data.tokenizer import load_tokenizer
from harness.errors import UsageError
from harness.results.atomic import atomic_write_bytes, new_temp_dir, replace_dir, sweep_temps
from models.registry import get_model_spec
from models.transformer import EncoderClassifier, ModelConfig

FORMAT = "beexbench-checkpoint/1"
FILES = ("checkpoint.json", "tokenizer.json", "splits.json", "model.safetensors")


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    model: EncoderClassifier
    tokenizer: Tokenizer
    splits: Splits

    @property
    def model_name(self) -> str:
        return self.meta["model"]

    def policy_param(self, policy: str) -> float | None:
        entry = self.meta["policies"].get(policy)
        return None if entry is None else entry["param"]


def save_checkpoint(path: Path, meta: dict, model: EncoderClassifier, tokenizer: Tokenizer,
                    splits: Splits) -> Path:
    """Build the checkpoint in a temporary sibling, then rename it in (the one it replaces,
    with `train --force`, is renamed aside and removed only after)."""
    # The cache's next write removes what killed writers left in it.
    if path.parent.is_dir():
        sweep_temps(path.parent)
    tmp = new_temp_dir(path, what="checkpoint")
    try:
        files = {
            "checkpoint.json": json.dumps({"format": FORMAT, **meta}, indent=2).encode(),
            "tokenizer.json": tokenizer.to_str(pretty=True).encode(),
            "splits.json": json.dumps(splits.to_dict()).encode(),
            "model.safetensors": save({k: v.detach().contiguous()
                                       for k, v in model.state_dict().items()}),
        }
        for name in FILES:
            atomic_write_bytes(tmp / name, files[name], what="checkpoint")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, path, what="checkpoint")
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Load and validate; anything corrupt or foreign is one UsageError line."""
    if not path.is_dir():
        raise UsageError(f"checkpoint {path}: not a directory")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise UsageError(f"checkpoint {path}: not a beexbench checkpoint (missing "
                         f"{', '.join(missing)})")
    try:
        meta = json.loads((path / "checkpoint.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"checkpoint {path}: checkpoint.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"checkpoint {path}: unknown format (expected {FORMAT})")
    try:
        cfg = ModelConfig(**meta["model_config"])
        spec = get_model_spec(meta["model"])
        splits_raw = json.loads((path / "splits.json").read_text())
        splits = Splits(*(tuple(splits_raw[k]) for k in ("train", "val", "test")))
        meta["policies"]  # noqa: B018  (must be present)
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise UsageError(f"checkpoint {path}: malformed metadata ({exc!r})") from None
    tokenizer = load_tokenizer(path / "tokenizer.json")
    try:
        state = load_file(str(path / "model.safetensors"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"checkpoint {path}: corrupt weights ({exc})") from None
    model = spec.build(cfg) if spec.config(cfg) == cfg else None
    if model is None:
        raise UsageError(f"checkpoint {path}: config does not match model {meta['model']}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"checkpoint {path}: weights do not fit the model ({first})") from None
    model.eval()
    return Checkpoint(path, meta, model, tokenizer, splits)


def checkpoint_root() -> Path:
    return Path(os.environ.get("BEEXBENCH_CHECKPOINTS", "results/checkpoints"))
