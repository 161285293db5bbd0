"""What one unit of a sweep runs, on whichever node the executor chose.

Training: one (model, seed) through the same `train_model` as `bench` (a cached
checkpoint is reused, never trained again). Measuring: one (target, model, seed) through
`run_bench` into a private run directory, which goes back to the driver as tar bytes.
Checkpoints and run directories travel as tar bytes too, so a node needs no shared disk.

`BEEXBENCH_TEST_KILL_CELL=<target>/<model>/seed-<S>=<marker file>` is a fault hook for the
test suite: the first attempt of that cell (while the marker file does not exist yet)
kills its own process after measuring, before it hands anything back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.core.atomic import new_temp_dir
from beexbench.core.errors import UsageError
from beexbench.sweep.tarball import pack_dir, unpack_dir
from beexbench.targets.environment import host
from beexbench.train.loop import TrainRequest

KILL_HOOK = "BEEXBENCH_TEST_KILL_CELL"


@dataclass(frozen=True)
class CellSpec:
    """Everything a measuring node needs to run one cell."""

    name: str  # <target>/<model>/seed-<S>
    config: BenchConfig  # one model, one seed
    run_id: str  # the run id of the (target, seed) run directory it joins
    checkpoint: str  # the checkpoint directory name the driver expects (its cache key)

    @property
    def model(self) -> str:
        return self.config.models[0]

    @property
    def seed(self) -> int:
        return self.config.seeds[0]

    def request(self) -> TrainRequest:
        cfg = self.config
        return TrainRequest(self.model, cfg.dataset, cfg.preset, self.seed, cfg.data_path())


def train_checkpoint(request: TrainRequest, quiet: bool) -> dict:
    """Train (or reuse) one checkpoint here; what happened, for the sweep's records."""
    from beexbench.train.loop import train_model

    path = request.checkpoint_dir()
    trained = not path.is_dir()
    started = time.perf_counter()
    train_model(request, quiet=quiet)
    return {"checkpoint": path.name, "trained": trained, "host": host(),
            "seconds": round(time.perf_counter() - started, 3)}


def install_checkpoint(request: TrainRequest, expected: str, payload: bytes | None) -> Path:
    """The cell's checkpoint in this node's cache, unpacked from `payload` if missing."""
    path = request.checkpoint_dir()
    if path.name != expected:
        raise UsageError(f"{host()}: checkpoint key {path.name} differs from the sweep's "
                         f"{expected}; run the same beexbench version on every node")
    if not path.is_dir():
        if payload is None:
            raise UsageError(f"{host()}: checkpoint {path.name} is not in the cache")
        try:
            unpack_dir(payload, path)
        except OSError:
            if not path.is_dir():  # another cell on this node may have unpacked it first
                raise
    return path


def _fingerprint(checkpoint: Path) -> tuple[int, int]:
    stat = (checkpoint / "model.safetensors").stat()
    return stat.st_ino, stat.st_mtime_ns


def measure_cell(spec: CellSpec, checkpoint: bytes | None, quiet: bool) -> dict:
    """Run `bench` for one cell into a private directory; return it as tar bytes."""
    from beexbench.bench.runner import run_bench

    path = install_checkpoint(spec.request(), spec.checkpoint, checkpoint)
    before = _fingerprint(path)
    with _cell_folder() as tmp:
        out = tmp / "run"
        began = time.time()  # wall clock, comparable across the cells of one node
        started = time.perf_counter()
        run_bench(spec.config, out, resume=False, quiet=quiet, run_id=spec.run_id)
        if _fingerprint(path) != before:
            raise RuntimeError(f"{spec.name}: the checkpoint was trained again while measuring")
        _kill_hook(spec.name)
        return {"run": pack_dir(out), "host": host(),
                "seconds": round(time.perf_counter() - started, 3),
                "began": round(began, 3), "ended": round(time.time(), 3)}


@contextmanager
def _cell_folder() -> Iterator[Path]:
    """A folder for one cell's run directory, named by this process, under a folder of this
    user's own (a node may serve several users): removed when the cell ends, and by the
    next cell of the user on this node when a kill left it behind."""
    user = os.getuid() if hasattr(os, "getuid") else 0
    tmp = new_temp_dir(Path(tempfile.gettempdir()) / f"beexbench-cells-{user}" / "cell",
                       what="a sweep cell's run directory")
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kill_hook(cell: str) -> None:
    hook = os.environ.get(KILL_HOOK, "")
    name, _, marker = hook.partition("=")
    if name == cell and marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(137)
