"""The benchmark's whole configuration, a frozen dataclass written to config.json.

It is the one source of bench's defaults: the CLI (beexbench/cli/bench.py) and the
nox sessions (noxfile.py) read them here, so this module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from beexbench.config import MAX_SEED, PRESETS
from beexbench.core.errors import UsageError
from beexbench.core.ranges import check_int, max_threads
from beexbench.measure.latency import LoopSettings
from beexbench.train.recipes import recipe_for

# The main job's models: the reference and the baselines its ratios are against.
DEFAULT_MODELS = ("fp-transformer", "fp-transformer-ee", "binarybert", "beexformer",
                  "beexformer-a1")

# MLPerf LoadGen defaults are 10 s and 100 queries; smaller presets scale them down so
# the default job stays within minutes on two cores (`small`: half a second holds 300 to
# 3000 of its sub-millisecond queries; a contended loop runs again).
LOOP_DEFAULTS = {
    "tiny": LoopSettings(warmup=3, min_queries=20, min_seconds=0.2, batch_size=32),
    "small": LoopSettings(warmup=20, min_queries=100, min_seconds=0.5, batch_size=32),
    "paper": LoopSettings(warmup=20, min_queries=100, min_seconds=10.0, batch_size=32),
}


@dataclass(frozen=True)
class BenchConfig:
    target: str = "cpu"
    models: tuple[str, ...] = DEFAULT_MODELS
    dataset: str = "rt-polarity"
    preset: str = "small"
    seeds: tuple[int, ...] = (0,)  # each trains and is measured; rows carry `seed`
    split: str = "test"
    threads: int | None = None  # None: every core the process may use
    runtimes: tuple[str, ...] = ("fake-quant",)  # beexbench.bench.runtimes.RUNTIMES
    loop: LoopSettings | None = None
    energy: bool = True
    data_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise UsageError("--seeds must name at least one seed")
        for seed in self.seeds:
            check_int("--seed", seed, 0, MAX_SEED)
        if len(set(self.seeds)) != len(self.seeds):
            raise UsageError(f"--seeds must be distinct, got {list(self.seeds)}")
        if self.threads is not None:
            check_int("--threads", self.threads, 1, max_threads())

    def loop_settings(self) -> LoopSettings:
        return self.loop or LOOP_DEFAULTS.get(self.preset, LOOP_DEFAULTS["small"])

    def seq_len(self) -> int:
        """Reference length for op counts: the preset's max length."""
        return PRESETS.get(self.preset).max_len

    def data_path(self) -> Path | None:
        return Path(self.data_dir) if self.data_dir else None

    def to_dict(self) -> dict:
        from beexbench.models.registry import get_model_spec

        out = asdict(self)
        out["loop"] = asdict(self.loop_settings())
        preset = PRESETS.get(self.preset)
        out["preset_config"] = preset.to_dict()
        # The recipe each model trains with, and how it was chosen (beexbench/train/recipes.py).
        out["recipes"] = {}
        for name in self.models:
            recipe, source = recipe_for(get_model_spec(name).family, preset)
            out["recipes"][name] = {**recipe.to_dict(), "chosen_by": source}
        return out
