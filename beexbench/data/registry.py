"""Dataset registry: name -> loader(data_dir) -> TextDataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from beexbench.core.registry import Registry
from beexbench.data.base import TextDataset

Loader = Callable[[Path | None], TextDataset]

DATASETS: Registry[Loader] = Registry("dataset", entry_points="beexbench.datasets")


def load_dataset(name: str, data_dir: Path | None = None) -> TextDataset:
    """Load a registered dataset; importing the loader modules registers them."""
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.get(name)(data_dir)


def dataset_names() -> list[str]:
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.names()
