"""Deterministic seeded, stratified train/val/test splits as index lists."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass

from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields
from beexbench.data.base import TextDataset

SPLIT_NAMES = ("train", "val", "test")


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
    empty = [k for k in SPLIT_NAMES if not parts[k]]
    if empty:
        counts = ", ".join(f"{n} of {name!r}" for name, n in data.class_counts().items())
        raise UsageError(f"dataset {data.name}: too few samples for a train/val/test split "
                         f"({counts}; the {empty[0]} split would be empty)")
    return Splits(*(tuple(sorted(parts[k])) for k in SPLIT_NAMES))


def splits_from_fields(fields: Fields) -> Splits:
    """Splits from a splits.json object: three lists of distinct non-negative integer
    indices, pairwise disjoint, train and test not empty."""
    parts: dict[str, tuple[int, ...]] = {}
    for name in SPLIT_NAMES:
        values = fields.list(name)
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise fields.fail(f"{name}[{i}]", f"must be a sample index (an integer >= 0), "
                                                  f"got {value!r}")
        if len(set(values)) != len(values):
            raise fields.fail(name, "lists a sample twice")
        parts[name] = tuple(values)
    for name in ("train", "test"):
        if not parts[name]:
            raise fields.fail(name, "is empty")
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = set(parts[a]) & set(parts[b])
        if shared:
            raise fields.fail(b, f"shares {len(shared)} samples with {a!r} "
                                 f"(e.g. {min(shared)})")
    unknown = sorted(set(fields.keys()) - set(SPLIT_NAMES))
    if unknown:
        raise fields.fail(unknown[0], "is not a split name")
    return Splits(*(parts[name] for name in SPLIT_NAMES))
