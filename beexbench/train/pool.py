"""Train the missing checkpoints of a run side by side: one process per model.

Each model trains on its preset's fixed thread count (one for `tiny` and `small`, where
a training step runs only about 1.5x faster on two threads than on one), so on C cores
up to 3C / threads processes train at once. More processes than cores is deliberate:
the OS then shares the cores between models that train at different speeds, and no core
idles while the slowest model trains alone. It costs a tenth of the throughput (five
one-thread trainings on two cores run 11 % fewer steps a second than two), and still
wins: the main job's five models on two cores, two at a time, longest first, ended two
minutes later, with one model training alone at the end. Where there are more models
than processes, the longest (most epochs) start first. Each worker writes its
checkpoint to the cache (atomically); the caller then loads it from there.

Workers die with their parent, however it dies (SIGKILL included): on Linux the kernel
sends them SIGKILL when it exits (PR_SET_PDEATHSIG), elsewhere a thread in each worker
watches for the parent to go. The resource tracker multiprocessing starts beside them
exits once the last of them is gone.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from beexbench.core import log, plugins
from beexbench.core.lifetime import die_with_parent
from beexbench.data.base import TextDataset

if TYPE_CHECKING:
    from beexbench.train.loop import TrainRequest

logger = logging.getLogger(__name__)


def _start_worker(parent: int, verbosity: int, plugin_names: list[str]) -> None:
    """A spawned worker dies with `parent` and otherwise starts bare: give it the parent's
    output settings and plugins (no bars: several processes would draw over each other)."""
    die_with_parent(parent)
    log.configure(verbosity, bars=False)
    plugins.load(plugin_names)


def _train_one(request: TrainRequest, data: TextDataset, quiet: bool) -> None:
    # Not train_model itself: its Checkpoint (the whole model) would be pickled back.
    # Imported here, not at the top: a spawned worker imports this module before its
    # initializer can tie it to the parent, and torch takes seconds to import; a parent
    # killed in that window would leave the worker running until the import ends.
    from beexbench.train.loop import train_model

    train_model(request, quiet=quiet, data=data)


def longest_first(requests: list[TrainRequest]) -> list[TrainRequest]:
    """The requests by epochs, most first; equals keep their order."""
    return sorted(requests, key=lambda r: -r.recipe()[0].epochs)


def train_missing(requests: list[TrainRequest], data: TextDataset, cpus: int,
                  quiet: bool) -> None:
    """Train every request whose checkpoint is not cached yet, side by side on `cpus` cores."""
    missing = [r for r in requests if not r.checkpoint_dir().exists()]
    if not missing:
        return
    threads = missing[0].preset_config().train_threads or cpus
    workers = min(len(missing), 3 * cpus // threads)
    missing = longest_first(missing)
    if workers < 2:
        return  # nothing to share: the caller trains them one by one
    if not quiet:
        logger.info("training %d models in %d processes of %d thread%s: %s", len(missing),
                    workers, threads, "s" if threads > 1 else "",
                    ", ".join(r.model for r in missing))
    # spawn, not fork: a forked child of a process that already ran OpenMP can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(os.getpid(), log.verbosity(), plugins.loaded())) as pool:
        futures = [pool.submit(_train_one, r, data, quiet) for r in missing]
        try:
            for future in futures:
                future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # models not started yet never start
            raise
