"""Train the missing checkpoints of a run side by side: one process per model.

The `small` preset's training step runs only about 1.5x faster on two threads than on
one, so with C cores, processes of max(1, C // W) threads each finish a set of models
sooner than training them one after another on all C threads. Up to 2C processes run
at once (W = min(models, 2C)): the OS then shares the cores between models that train
at different speeds, so no core idles while the slowest model trains alone. Each
worker writes its checkpoint to the cache (atomically); the caller then loads it.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

import torch

from harness.data.base import TextDataset
from harness.train import TrainRequest, train_model


def _start_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _train_one(request: TrainRequest, data: TextDataset, quiet: bool) -> str:
    train_model(request, quiet=quiet, data=data)
    return request.model


def train_missing(requests: list[TrainRequest], data: TextDataset, cpus: int,
                  quiet: bool) -> None:
    """Train every request whose checkpoint is not cached yet, on up to `cpus` cores."""
    missing = [r for r in requests if not r.checkpoint_dir().exists()]
    if len(missing) < 2 or cpus < 2:
        return  # nothing to share: the caller trains in-process on all its threads
    workers = min(len(missing), 2 * cpus)
    threads = max(1, cpus // workers)
    if not quiet:
        print(f"training {len(missing)} models in {workers} processes of {threads} "
              f"thread{'s' if threads > 1 else ''}: {', '.join(r.model for r in missing)}",
              file=sys.stderr, flush=True)
    # spawn, not fork: a forked child of a process that already ran OpenMP can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(threads,)) as pool:
        for future in [pool.submit(_train_one, r, data, quiet) for r in missing]:
            future.result()
