"""Deterministic seeded, stratified train/val/test splits as index lists."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass

from harness.data.base import TextDataset
from harness.errors import UsageError


@dataclass(frozen=True)
class Splits:
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]

    def get(self, name: str) -> tuple[int, ...]:
        if name not in ("train", "val", "test"):
            raise UsageError(f"unknown split {name!r}; valid: train, val, test")
        return getattr(self, name)

    def to_dict(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in asdict(self).items()}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict()).encode()).hexdigest()[:16]


def stratified_split(data: TextDataset, seed: int, val: float = 0.1, test: float = 0.1) -> Splits:
    """Per class: shuffle with the seed, then cut test, val and train fractions."""
    rng = random.Random(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in range(data.n_classes):
        idx = [i for i, y in enumerate(data.labels) if y == label]
        rng.shuffle(idx)
        n_test, n_val = round(len(idx) * test), round(len(idx) * val)
        parts["test"] += idx[:n_test]
        parts["val"] += idx[n_test:n_test + n_val]
        parts["train"] += idx[n_test + n_val:]
    return Splits(*(tuple(sorted(parts[k])) for k in ("train", "val", "test")))
