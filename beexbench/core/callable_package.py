"""Packages that can be called: `beexbench.bench(config)` and `beexbench.report(runs, out)`.

The Python API names its two jobs after the subpackages that hold them. An attribute of
`beexbench` named `bench` is the subpackage as soon as anything imports it, so the
function cannot be a separate attribute: the subpackage itself is made callable, by
giving its module object a class with `__call__`. Everything else about the module is
unchanged (its attributes, `import beexbench.bench.runner`, ...).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(module_name: str, call: Callable[..., Any]) -> None:
    """Calling the module `module_name` calls `call` with the same arguments."""

    class CallablePackage(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return call(*args, **kwargs)

    CallablePackage.__call__.__doc__ = call.__doc__
    sys.modules[module_name].__class__ = CallablePackage
