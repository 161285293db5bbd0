"""`beexbench bench`: train what is missing, measure every model on a target, store rows.

`beexbench.bench(config, out)` is the same job from Python (the package is callable:
beexbench.core.callable_package); it returns the loaded run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from beexbench.core.callable_package import make_callable

if TYPE_CHECKING:
    from beexbench.bench.config import BenchConfig
    from beexbench.results.rundir import Run


def bench(config: BenchConfig, out: str | Path | None = None, *, resume: bool = False,
          force: bool = False, quiet: bool = True) -> Run:
    """Train what is missing, measure every model of `config`, return the loaded run.

    `out` is the run directory (default results/<run_id>); `resume` continues one,
    `force` replaces one; `quiet` keeps progress lines off stderr. Bad input raises
    UsageError with the line the command line would print."""
    from beexbench.bench.runner import run_bench
    from beexbench.results.rundir import load_run

    root = run_bench(config, Path(out) if out is not None else None, resume, quiet,
                     force=force)
    return load_run(root)


make_callable(__name__, bench)
