"""Dataset registry: name -> loader(data_dir) -> TextDataset.

DATASETS (beexbench.data.catalog) is re-exported from here; plugins register with it.
"""

from __future__ import annotations

from pathlib import Path

from beexbench.core import plugins
from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS, Loader

__all__ = ["DATASETS", "Loader", "dataset_names", "load_dataset"]


def load_dataset(name: str, data_dir: Path | None = None) -> TextDataset:
    """Load a registered dataset; importing the loader modules registers them."""
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    loader = DATASETS.get(name)
    with plugins.failures_named(f"dataset {name!r}", [DATASETS.origin(name)],
                                ": its loader failed"):
        return loader(data_dir)


def dataset_names() -> list[str]:
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.names()
