"""Dataset registry: name -> loader(data_dir) -> TextDataset.

DATASETS (beexbench.data.catalog) is re-exported from here; plugins register with it.
"""

from __future__ import annotations

from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS, Loader

__all__ = ["DATASETS", "Loader", "dataset_names", "load_dataset"]


def load_dataset(name: str, data_dir: Path | None = None) -> TextDataset:
    """Load a registered dataset; importing the loader modules registers them."""
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    loader = DATASETS.get(name)
    origin = DATASETS.origin(name)
    if origin is None:
        return loader(data_dir)  # ours: an unexpected error is a bug, with its traceback
    try:
        return loader(data_dir)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"dataset {name!r} (plugin {origin}): its loader failed: "
                         f"{type(exc).__name__}: {exc}") from None


def dataset_names() -> list[str]:
    from beexbench.data import bbc_news, glue, rt_polarity, synthetic  # noqa: F401

    return DATASETS.names()
