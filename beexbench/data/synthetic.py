"""Generated datasets for tests: the label is decided by which keyword family a text uses."""

from __future__ import annotations

import random
from pathlib import Path

from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS

_FILLER = [f"w{i}" for i in range(200)]


def make_synthetic(n: int, n_classes: int, seed: int = 0) -> TextDataset:
    """Texts of filler words plus a few class keywords; learnable in a few steps."""
    rng = random.Random(seed)
    keywords = [[f"k{c}x{j}" for j in range(5)] for c in range(n_classes)]
    texts: list[str] = []
    labels: list[int] = []
    for i in range(n):
        label = i % n_classes
        words = rng.choices(_FILLER, k=rng.randint(6, 20))
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(keywords[label]))
        texts.append(" ".join(words))
        labels.append(label)
    names = tuple(f"class{c}" for c in range(n_classes))
    return TextDataset(f"synthetic-{n_classes}", tuple(texts), tuple(labels), names)


@DATASETS.register("synthetic-2")
def load_synthetic_binary(data_dir: Path | None = None) -> TextDataset:
    """Generated: 600 samples in 2 classes, for tests."""
    return make_synthetic(600, 2)


@DATASETS.register("synthetic-4")
def load_synthetic_topics(data_dir: Path | None = None) -> TextDataset:
    """Generated: 800 samples in 4 classes, for tests."""
    return make_synthetic(800, 4)
