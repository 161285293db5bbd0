"""A sweep's whole configuration, a frozen dataclass written to sweep.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.measure.latency import LoopSettings
from beexbench.train.loop import TrainRequest


@dataclass(frozen=True)
class SweepConfig:
    models: tuple[str, ...]
    targets: tuple[str, ...]
    dataset: str
    preset: str
    seeds: tuple[int, ...] = (0,)
    split: str = "test"
    threads: int | None = None  # None: every core of the measuring node
    runtimes: tuple[str, ...] = ("fake-quant",)
    loop: LoopSettings | None = None  # None: the preset's defaults (BenchConfig)
    energy: bool = True
    data_dir: str | None = None

    def bench_config(self, target: str, seed: int,
                     models: tuple[str, ...] | None = None) -> BenchConfig:
        """The bench config of one (target, seed) run directory, or of one cell in it."""
        return BenchConfig(target=target, models=models or self.models, dataset=self.dataset,
                           preset=self.preset, seeds=(seed,), split=self.split,
                           threads=self.threads, runtimes=self.runtimes, loop=self.loop,
                           energy=self.energy, data_dir=self.data_dir)

    def train_request(self, model: str, seed: int) -> TrainRequest:
        """The training request of one (model, seed): the same one `bench` makes."""
        return TrainRequest(model, self.dataset, self.preset, seed,
                            Path(self.data_dir) if self.data_dir else None)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["loop"] = None if self.loop is None else asdict(self.loop)
        return out
