"""Local plugin modules: `--include MODULE` and `BEEXBENCH_PLUGINS=mod1,mod2`.

A plugin is a module that registers models, datasets, policies, targets or runtimes when
imported (`beexbench.models.registry.register_model`, `DATASETS.register`,
`POLICIES.register`, `TARGETS.register`, `RUNTIMES.register`). Each name is a dotted
module importable from sys.path or the working directory, or a path to a `.py` file.
Installed packages reach the registries through entry points instead
(beexbench.core.registry). Worker processes (beexbench.train.pool) import the same
plugins again, so the models they train are registered there too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from beexbench.core.errors import UsageError

ENV = "BEEXBENCH_PLUGINS"

_loaded: list[str] = []
_loading: list[str] = []  # the plugin being imported now (registries note it as an origin)


def loading() -> str | None:
    """The plugin whose import is running now, or None (beexbench's own code)."""
    return _loading[-1] if _loading else None


@contextmanager
def importing(name: str) -> Iterator[None]:
    """Mark the import of plugin `name`: whatever registers meanwhile comes from it."""
    _loading.append(name)
    try:
        yield
    finally:
        _loading.pop()


def requested(includes: list[str] | None,
              environ: Mapping[str, str] | None = None) -> list[str]:
    """The plugin names of the environment, then of `--include`, each once, in order."""
    environ = os.environ if environ is None else environ
    names = [n.strip() for n in environ.get(ENV, "").split(",") if n.strip()]
    names += [n.strip() for n in includes or [] if n.strip()]
    return list(dict.fromkeys(names))


def _import_file(path: Path) -> ModuleType:
    name = f"beexbench_plugin_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"plugin {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@contextmanager
def failures_named(subject: str, origins: list[str | None], failed: str,
                   then: str = "") -> Iterator[None]:
    """Run the block; where `origins` name plugins (registries' `origin`), an exception it
    raises becomes one UsageError line: `<subject> (plugin P)<failed>: <error><then>`.
    Without plugins it passes as it is: an error in beexbench's own code is a bug, and
    keeps its traceback."""
    named = [f"plugin {o}" for o in origins if o is not None]
    if not named:
        yield
        return
    try:
        yield
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"{subject} ({', '.join(named)}){failed}: {type(exc).__name__}: "
                         f"{exc}{then}") from None


def load(names: list[str]) -> list[ModuleType]:
    """Import each plugin once; a plugin that cannot be found or fails is a UsageError."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.append(str(Path.cwd()))  # a module beside the user, as `python -m` finds it
    modules = []
    for name in names:
        source = f"{ENV}/--include {name}"
        try:
            if name.endswith(".py") or os.sep in name:
                path = Path(name).resolve()
                if not path.is_file():
                    raise UsageError(f"plugin {name}: no such file")
                with importing(name):
                    modules.append(_import_file(path))
                name = str(path)
            else:
                with importing(name):
                    modules.append(importlib.import_module(name))
        except UsageError:
            raise
        except ModuleNotFoundError as exc:
            raise UsageError(f"plugin {name} ({source}): module {exc.name!r} not found") \
                from None
        except Exception as exc:
            raise UsageError(f"plugin {name} ({source}): import failed: "
                             f"{type(exc).__name__}: {exc}") from None
        if name not in _loaded:
            _loaded.append(name)
    return modules


def loaded() -> list[str]:
    """What `load` imported in this process, for worker processes to import again."""
    return list(_loaded)
