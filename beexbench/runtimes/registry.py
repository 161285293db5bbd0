"""The runtime registry with the built-in runtimes registered; lookup and parsing.

Importing this module imports the built-in runtime modules, which registers them;
RUNTIMES is re-exported from here. Nothing here imports torch.
"""

from __future__ import annotations

import importlib

from beexbench.core.errors import UsageError
from beexbench.runtimes.base import Runtime
from beexbench.runtimes.catalog import RUNTIMES

# The built-in runtimes, imported (and so registered) in the order `--help` lists them.
BUILT_IN = ("beexbench.runtimes.fake_quant", "beexbench.runtimes.packed.deploy",
            "beexbench.runtimes.onnx.deploy")
for _module in BUILT_IN:
    importlib.import_module(_module)

__all__ = ["RUNTIMES", "get_runtime", "parse_runtimes"]


def get_runtime(name: str) -> Runtime:
    """An instance of the named runtime; a UsageError naming the valid ones on a miss."""
    return RUNTIMES.get(name)()


def parse_runtimes(text: str) -> tuple[str, ...]:
    """`--runtimes a,b`: known names, in the order given, each once."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UsageError("--runtimes is empty")
    for name in names:
        RUNTIMES.get(name)  # an unknown name fails with the valid ones
    return names
