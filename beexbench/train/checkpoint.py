"""Checkpoints: config + tokenizer + weights + calibrated policies + split and tokenizer hashes.

A checkpoint is a directory, written atomically (built in a temporary sibling, then
renamed), and loaded only through safetensors and JSON: no pickle.

    checkpoint.json   format marker, model/dataset/preset/seed, ModelConfig, policies,
                      the hashes of splits.json's splits and of tokenizer.json's bytes
    tokenizer.json    the WordPiece tokenizer trained on the train split
    splits.json       the train/val/test index lists
    model.safetensors the weights
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from tokenizers import Tokenizer

from beexbench.config import MAX_SEED
from beexbench.core.atomic import atomic_write_bytes, new_temp_dir, replace_dir, sweep_temps
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, load_json
from beexbench.data.splits import Splits, splits_from_fields
from beexbench.data.tokenizer import check_tokenizer, load_tokenizer, read_tokenizer_bytes
from beexbench.models.config_fields import read_model_config
from beexbench.models.exits import POLICIES, make_policy
from beexbench.models.registry import get_model_spec, model_names
from beexbench.models.state_check import check_state, expected_state
from beexbench.models.transformer import EncoderClassifier, ModelConfig

log = logging.getLogger(__name__)

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
        vocab = tokenizer.to_str(pretty=True).encode()
        # An edited tokenizer maps words to other ids: the weights would read them wrong
        # and accuracy would drop without an error, so its bytes are hashed like the splits.
        head = {"format": FORMAT, **meta, "tokenizer_hash": _digest(vocab)}
        files = {
            "checkpoint.json": json.dumps(head, indent=2).encode(),
            "tokenizer.json": vocab,
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _read_tokenizer(file: Path, tokenizer_hash: str) -> Tokenizer:
    """tokenizer.json, and the very tokenizer the checkpoint was trained with (its hash)."""
    data = read_tokenizer_bytes(file)
    if _digest(data) != tokenizer_hash:
        raise UsageError(f"tokenizer.json {file}: does not match the checkpoint's "
                         f"tokenizer_hash {tokenizer_hash} (edited after training?)")
    return load_tokenizer(file, data)


def _read_meta(path: Path) -> tuple[dict, ModelConfig]:
    """checkpoint.json, typed: the fields the harness reads, each checked."""
    where = f"checkpoint.json {path / 'checkpoint.json'}"
    meta = load_json(path / "checkpoint.json", what="checkpoint.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UsageError(f"checkpoint {path}: unknown format (expected {FORMAT})")
    fields = Fields(meta, where=where)
    model = fields.str("model")
    # model_names() imports the built-in models first: eval may be the first to ask.
    if model not in model_names():
        raise fields.fail("model", f"names no known model, got {model!r}")
    fields.str("dataset")
    fields.str("preset")
    fields.int("seed", min=0, max=MAX_SEED)
    fields.str("split_hash")
    fields.str("tokenizer_hash")
    for entry in fields.objs("history", default=[]):
        entry.float("val_acc", min=0.0, max=100.0)
    cfg = read_model_config(fields.obj("model_config"))
    policies = fields.obj("policies")
    for name in policies.keys():
        if name not in POLICIES:
            raise policies.fail(name, "names no known exit policy")
        param = policies.obj(name).raw("param")
        if param is not None:
            policies.obj(name).float("param")
            make_policy(name, param, origin=f"{where}: field 'policies.{name}.param'")
    return meta, cfg


def _read_splits(path: Path, split_hash: str) -> Splits:
    """splits.json: three lists of distinct sample indices, disjoint, train and test not
    empty, and the very splits the checkpoint was trained on (its split_hash)."""
    file = path / "splits.json"
    fields = Fields(load_json(file, what="splits.json"), where=f"splits.json {file}")
    splits = splits_from_fields(fields)
    if splits.digest() != split_hash:
        raise UsageError(f"splits.json {file}: does not match the checkpoint's split_hash "
                         f"{split_hash} (edited after training?)")
    return splits


def load_checkpoint(path: Path) -> Checkpoint:
    """Load and validate; anything corrupt or foreign is one UsageError line."""
    if not path.is_dir():
        raise UsageError(f"checkpoint {path}: not a directory")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise UsageError(f"checkpoint {path}: not a beexbench checkpoint (missing "
                         f"{', '.join(missing)})")
    meta, cfg = _read_meta(path)
    spec = get_model_spec(meta["model"])
    if spec.config(cfg) != cfg:
        raise UsageError(f"checkpoint {path}: config does not match model {meta['model']}")
    splits = _read_splits(path, meta["split_hash"])
    tokenizer = _read_tokenizer(path / "tokenizer.json", meta["tokenizer_hash"])
    check_tokenizer(tokenizer, cfg.vocab_size, where=f"tokenizer.json {path / 'tokenizer.json'}")
    weights = path / "model.safetensors"
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"checkpoint {path}: corrupt weights ({exc})") from None
    with torch.device("meta"):  # shapes and dtypes only: nothing allocated
        expected = expected_state(spec.build(cfg))
    check_state(state, expected, where=f"checkpoint {path}: weights do not fit the model "
                                       f"({weights.name})")
    model = spec.build(cfg)
    model.load_state_dict(state, strict=True)
    model.eval()
    return Checkpoint(path, meta, model, tokenizer, splits)


CACHE_ENV = "BEEXBENCH_CHECKPOINTS"
# Where earlier versions kept the cache: relative to the working directory, so that
# running from elsewhere retrained everything. Still read, with one notice.
LEGACY_ROOT = Path("results/checkpoints")
_told: set[Path] = set()


def checkpoint_root() -> Path:
    """BEEXBENCH_CHECKPOINTS, else $XDG_CACHE_HOME/beexbench/checkpoints (~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "beexbench" / "checkpoints"


def check_cache_usable(root: Path, what: str) -> None:
    """Refuse, before any training, a cache folder that cannot be one (a file in its place
    or above it, no permission): a run would otherwise fail only after training."""
    for parent in (root, *root.parents):
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{what} {root}: {parent} is not a folder (check "
                                 f"$XDG_CACHE_HOME or ${CACHE_ENV})")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UsageError(f"{what} {root}: {parent} is not writable")
            return


def checkpoint_path(name: str) -> Path:
    """Where the checkpoint `name` is, or goes: the cache, unless only the old
    working-directory cache has it (then that one, said once per process)."""
    path = checkpoint_root() / name
    legacy = LEGACY_ROOT / name
    if path.exists() or os.environ.get(CACHE_ENV) or not legacy.is_dir():
        return path
    where = LEGACY_ROOT.resolve()
    if where not in _told:
        _told.add(where)
        log.warning("reading checkpoints from the old cache %s; new ones go to %s (move the "
                    "old ones there, or set %s)", where, checkpoint_root(), CACHE_ENV)
    return legacy
