"""Presets and run configs as frozen dataclasses, serializable to JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

from beexbench.core.errors import UsageError
from beexbench.core.registry import Registry


@dataclass(frozen=True)
class Preset:
    """Backbone shape (shared by every model in a run) and training schedule."""

    name: str
    d_model: int
    heads: int
    blocks: int
    max_len: int
    vocab_size: int
    epochs: int
    batch_size: int
    lr: float
    binary_lr: float  # latent binary weights need larger steps to flip signs
    weight_decay: float = 0.01
    dropout: float = 0.1
    warmup_frac: float = 0.1
    ffn_mult: int = 4
    slfn_mult: int = 1
    # Threads a model trains on (None: all). Fixed, so that a checkpoint is the same
    # bits on every machine with this torch build and CPU kind: the thread count sets
    # the order of floating-point reductions (another CPU's SIMD path still drifts).
    # One thread is where small models use a core best.
    train_threads: int | None = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Preset:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise UsageError(f"preset has unknown fields: {', '.join(sorted(unknown))}")
        return cls(**data)


MAX_SEED = 2**31 - 1
"""Training seeds are integers in [0, MAX_SEED]: every RNG the harness seeds takes them."""

PRESETS: Registry[Preset] = Registry("preset")

PRESETS.register("tiny")(Preset(
    name="tiny", d_model=32, heads=2, blocks=3, max_len=32, vocab_size=2000,
    epochs=2, batch_size=32, lr=3e-3, binary_lr=3e-3,
))
PRESETS.register("small")(Preset(
    name="small", d_model=128, heads=4, blocks=6, max_len=64, vocab_size=8000,
    epochs=4, batch_size=64, lr=2e-3, binary_lr=3e-3,
))
PRESETS.register("paper")(Preset(
    name="paper", d_model=512, heads=8, blocks=12, max_len=128, vocab_size=30000,
    epochs=10, batch_size=32, lr=2e-4, binary_lr=1e-3, train_threads=None,
))

# BERT-base's shape (Devlin et al., 2019), for `count` to set our counts beside the
# published BERT-base tables. Shape only: the schedule is BERT's fine-tuning recipe so
# the preset is complete, but nothing here trains a model of this size.
PRESETS.register("bert-base")(Preset(
    name="bert-base", d_model=768, heads=12, blocks=12, max_len=512, vocab_size=30522,
    epochs=3, batch_size=32, lr=2e-5, binary_lr=1e-4, train_threads=None,
))


def config_hash(payload: dict) -> str:
    """Stable short hash of a JSON-serializable config."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
