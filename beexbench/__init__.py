"""beexbench: benchmark binarized, early-exit transformers on your hardware.

The subpackages are the layers data flows through, lowest first: `core`, `config`,
`models` and `data`, `runtimes` and `targets`, `measure`, `train` and `results`, `bench`,
`sweep`, `report` and `regress`, `cli`. A module imports only from its own layer's
package and the layers below, and packages that share a layer never import each other
(pyproject.toml's import-linter contract; `nox -s imports`).

The Python API: `beexbench.bench(config, out)` (the bench package is callable),
`beexbench.load_run(path)`, `run.summary()`, `beexbench.report(runs, out)` (so is the
report package). Importing this package loads none of them (and no torch) until one is
used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["bench", "load_run", "report"]


def __getattr__(name: str) -> Any:
    if name in ("bench", "report"):
        return importlib.import_module(f"beexbench.{name}")
    if name == "load_run":
        from beexbench.results.rundir import load_run

        return load_run
    raise AttributeError(f"module 'beexbench' has no attribute {name!r}")
