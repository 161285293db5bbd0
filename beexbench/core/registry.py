"""A small typed registry (name -> factory) with a decorator, plugins and a helpful miss."""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Generic, TypeVar

from beexbench.core import plugins
from beexbench.core.errors import UsageError

T = TypeVar("T")

log = logging.getLogger(__name__)


def unknown(kind: str, name: str, valid: list[str]) -> str:
    """The one-line error for a name not among `valid`: every valid name, and the
    closest one last (where the eye lands) on a near miss."""
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}; valid: {', '.join(valid)}{hint}"


def first_line(obj: object) -> str:
    """An object's `description` if it has one, else the first line of its docstring."""
    text = getattr(obj, "description", None)
    if not isinstance(text, str) or not text:
        text = inspect.getdoc(obj) or ""
    return text.strip().splitlines()[0] if text.strip() else ""


def _who(origin: str | None) -> str:
    return f"plugin {origin}" if origin else "beexbench"


class Registry(Generic[T]):
    """Maps names to factories; `register` is a decorator, a miss suggests the closest name.

    `entry_points` names an entry-point group (e.g. `beexbench.models`) that installed
    packages use to add entries: each entry point is loaded on first use of the registry;
    one that loads a module registers whatever that module registers, one that loads an
    object is registered under the entry point's name. `on_register(name, obj)` runs for
    every registration, built-in or not (the policy registry names its classes with it).
    """

    def __init__(self, kind: str, entry_points: str | None = None,
                 on_register: Callable[[str, T], None] | None = None) -> None:
        self.kind = kind
        self.entry_points = entry_points
        self.on_register = on_register
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}  # name -> the plugin that registered it
        self._plugins_loaded = entry_points is None

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            origin = plugins.loading()
            if name in self._items:
                # A plugin may take a built-in's name before the built-ins load (they load
                # on first use): say who took it, in one line, whichever came first.
                raise UsageError(f"{self.kind} {name!r} is registered twice: by "
                                 f"{_who(self._origins.get(name))}, then by {_who(origin)}")
            if self.on_register is not None:
                self.on_register(name, obj)
            self._items[name] = obj
            if origin is not None:
                self._origins[name] = origin
            return obj

        return decorator

    def origin(self, name: str) -> str | None:
        """The plugin that registered `name`, or None for beexbench's own entries."""
        return self._origins.get(name)

    def _load_entry_points(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True  # first, so that a plugin's own lookups do not recurse
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_points):
            try:
                with plugins.importing(f"{ep.name} (entry point {ep.value})"):
                    obj = ep.load()
                    if not isinstance(obj, ModuleType) and ep.name not in self._items:
                        self.register(ep.name)(obj)
            except UsageError:
                raise
            except Exception as exc:
                raise UsageError(f"{self.kind} plugin {ep.name!r} (entry point {ep.value} "
                                 f"in group {self.entry_points}): failed to load: "
                                 f"{type(exc).__name__}: {exc}") from None
            log.debug("%s plugin %s loaded from %s", self.kind, ep.name, ep.value)

    def get(self, name: str) -> T:
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise UsageError(unknown(self.kind, name, self.names())) from None

    def names(self, installed: bool = True) -> list[str]:
        """Every registered name; `installed=False` leaves out what installed packages add
        through entry points (not loaded then: `--help` must not fail on a broken one)."""
        if installed:
            self._load_entry_points()
        return list(self._items)

    def describe(self, name: str) -> str:
        """The entry's one-line description (its `description`, else its docstring)."""
        return first_line(self.get(name))

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
