"""The runtime registry: `@RUNTIMES.register(name)` on a Runtime subclass.

The built-in runtimes register when beexbench.runtimes.registry imports them; this
module holds only the registry, so runtime modules import it without a cycle.
"""

from __future__ import annotations

from beexbench.core.registry import Registry
from beexbench.runtimes.base import Runtime


def _name_it(name: str, cls: type[Runtime]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Runtime)):
        raise TypeError(f"runtime {name!r}: a Runtime subclass is registered, got {cls!r}")
    cls.name = name


RUNTIMES: Registry[type[Runtime]] = Registry("runtime", entry_points="beexbench.runtimes",
                                             on_register=_name_it)
