"""Dataset registry: name -> loader(data_dir) -> TextDataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.data.base import TextDataset
from harness.registry import Registry

Loader = Callable[[Path | None], TextDataset]

DATASETS: Registry[Loader] = Registry("dataset", entry_points="beexbench.datasets")


def load_dataset(name: str, data_dir: Path | None = None) -> TextDataset:
    """Load a registered dataset; importing the loader modules registers them."""
    from harness.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.get(name)(data_dir)


def dataset_names() -> list[str]:
    from harness.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.names()
