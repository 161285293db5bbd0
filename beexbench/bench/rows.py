"""Building result rows: the fields shared by a run, plus one measured value each."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

from beexbench.measure.catalog import require


@dataclass(frozen=True)
class RowContext:
    run_id: str
    git_sha: str
    host: str
    target: str
    device: str
    model: str
    preset: str
    dataset: str
    split: str
    policy: str
    threads: int
    runtime: str
    seed: int = 0

    def with_policy(self, policy: str) -> RowContext:
        return replace(self, policy=policy)

    def row(self, metric: str, value: float | None, *, stat: str = "value", source: str = "",
            estimated: bool = False, batch_size: int | str = "", note: str = "") -> dict:
        """One results row; the unit comes from the metric catalogue, which must know it.
        A value of None (no measurement) is stored empty, with `note` saying why."""
        unit = require(metric, stat).unit_of(stat)
        if value is None and not note:
            raise ValueError(f"{metric}/{stat}: a row without a value needs a note")
        return {
            "run_id": self.run_id, "timestamp": datetime.now(timezone.utc).isoformat(
                timespec="seconds"),
            "git_sha": self.git_sha, "host": self.host, "target": self.target,
            "device": self.device, "model": self.model, "preset": self.preset,
            "dataset": self.dataset, "split": self.split, "policy": self.policy,
            "batch_size": batch_size, "threads": self.threads, "metric": metric, "stat": stat,
            "value": "" if value is None else value, "unit": unit, "source": source,
            "estimated": estimated, "runtime": self.runtime, "seed": self.seed, "note": note,
        }
