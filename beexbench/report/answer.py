"""What binarization and early exit buy here: the answer the report leads with.

Everything is computed from the run directories (results.csv and predictions/), per
target and run (configurations are only compared when measured side by side):

- **Configurations.** Every (model, runtime, policy) timed at batch 1, the fixed-depth
  truncations (`fixed-depth-k`) included. A latency whose loop was judged not valid
  (`timing_valid` 0) is no speed figure: such a configuration is listed, never ranked.
- **Accuracy-matched speed-up.** For each binary model (any model with binary
  parameters) at its default policy on its fastest valid runtime: the fastest
  full-precision configuration whose accuracy is not worse by a margin the test samples
  can distinguish, i.e. the 95 % paired-bootstrap interval of (fp - binary) accuracy on
  the same samples reaches 0 or above. The speed-up is that configuration's p50 over the
  binary model's. Both accuracies, their intervals and the difference are shown.
- **Static depth (ELUE).** Each early-exit policy beside the fixed-depth truncation
  of the same expected cost (the forced exit nearest its average exit block), on the
  same runtime: accuracy difference with its paired interval, and both p50s.
- **Pareto front.** A configuration is on the accuracy-vs-p50 front when no other
  configuration of the same target and run is at least as accurate and at least as fast,
  and strictly better in one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from beexbench.measure import catalog as M
from beexbench.measure.uncertainty import paired_difference
from beexbench.report.pareto import on_front
from beexbench.results.rundir import Run

FIXED_PREFIX = "fixed-depth-"
P50 = "latency_p50_ms"


@dataclass(frozen=True)
class Config:
    """One timed configuration of one run and target."""

    run_id: str
    target: str
    device: str
    seed: str
    model: str
    runtime: str
    policy: str
    p50: float | None  # None: not timed, or its timing judged not valid
    timing_valid: bool | None  # None: the run judged no timing (older runs)
    acc: float
    acc_low: float
    acc_high: float
    ops: float | None  # expected ops per sample
    size_ratio: float | None  # fp-transformer's bytes over this model's
    avg_exit: float | None
    full_precision: bool
    correct: np.ndarray | None  # per sample, ordered by sample id

    @property
    def name(self) -> str:
        return f"{self.model} ({self.runtime}, {self.policy})"

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.target, self.run_id, self.seed)


def _num(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def _full_precision(runs: list[Run]) -> dict[str, bool]:
    """Model -> no binary parameters, from its `params_binary` rows."""
    out: dict[str, bool] = {}
    for run in runs:
        rows = run.results[run.results["metric"] == M.PARAMS_BINARY.name]
        for model, value in zip(rows["model"], rows["value"], strict=True):
            out[str(model)] = float(value) == 0.0
    return out


def _engine(runtime: str) -> str:
    """The runtime folder a label's files are in (`packed-native+python-exits` -> packed-native)."""
    return runtime.split("+", 1)[0]


def _correct(runs: list[Run], run_id: str, model: str, runtime: str, policy: str,
             seed: str) -> np.ndarray | None:
    for run in runs:
        if run_id not in run.run_ids:
            continue
        default = run.default_policy(model)
        for m, p, s, r, table in run.all_predictions():
            if (m == model and (p or default) == policy and str(s) == str(seed)
                    and r is not None and _engine(r) == _engine(runtime)):
                ordered = table.sort_values("id", kind="stable")
                return (ordered["pred_policy"].to_numpy() == ordered["label"].to_numpy())
    return None


def configurations(runs: list[Run], summary: pd.DataFrame) -> list[Config]:
    """Every summary row as a Config, with its per-sample correctness."""
    fp = _full_precision(runs)
    out = []
    for _, row in summary.iterrows():
        valid = _num(row.get(M.TIMING_VALID.name))
        p50 = _num(row.get(P50))
        acc = _num(row.get(M.ACC_POLICY.name))
        if acc is None:
            continue
        seed = str(row.get("seed", ""))
        out.append(Config(
            str(row["run_id"]), str(row["target"]), str(row.get("device", "")), seed,
            str(row["model"]), str(row["runtime"]), str(row["policy"]),
            None if valid == 0 or p50 is None or p50 <= 0 else p50,
            None if valid is None else valid != 0, acc,
            _num(row.get("acc_policy_ci95_low")) or acc, _num(row.get("acc_policy_ci95_high"))
            or acc, _num(row.get(M.OPS_EXPECTED.name)), _num(row.get(M.SIZE_RATIO_VS_FP.name)),
            _num(row.get(M.AVG_EXIT_LAYER.name)), fp.get(str(row["model"]), False),
            _correct(runs, str(row["run_id"]), str(row["model"]), str(row["runtime"]),
                     str(row["policy"]), seed)))
    return out


def groups(configs: list[Config]) -> dict[tuple[str, str, str], list[Config]]:
    out: dict[tuple[str, str, str], list[Config]] = {}
    for c in configs:
        out.setdefault(c.group, []).append(c)
    return out


@dataclass(frozen=True)
class Difference:
    """a - b accuracy in points on the same samples, its 95 % interval and McNemar p."""

    points: float
    low: float
    high: float
    p: float

    @property
    def distinguishable(self) -> bool:
        return not self.low <= 0.0 <= self.high


def difference(a: Config, b: Config) -> Difference | None:
    if a.correct is None or b.correct is None or len(a.correct) != len(b.correct):
        return None
    return Difference(*paired_difference(a.correct, b.correct))


@dataclass(frozen=True)
class Matched:
    """A binary model's configuration against its accuracy-matched fp rival."""

    binary: Config
    rival: Config | None  # None: no fp configuration matched its accuracy
    diff: Difference | None  # rival - binary
    fastest_fp: Config | None  # the fastest fp configuration at any accuracy
    ops_ratio: float | None  # fp-transformer's expected ops over the binary model's

    @property
    def speedup(self) -> float | None:
        if self.rival is None or self.rival.p50 is None or self.binary.p50 is None:
            return None
        return self.rival.p50 / self.binary.p50

    @property
    def speedup_any(self) -> float | None:
        """Against the fastest full-precision configuration at any accuracy."""
        if self.fastest_fp is None or self.fastest_fp.p50 is None or self.binary.p50 is None:
            return None
        return self.fastest_fp.p50 / self.binary.p50

    @property
    def fastest_diff(self) -> Difference | None:
        """fastest fp - binary accuracy on the same samples."""
        return None if self.fastest_fp is None else difference(self.fastest_fp, self.binary)


def _reference(configs: list[Config], model: str, default: str | None) -> Config | None:
    """A binary model's reference configuration: its default policy, fastest valid runtime."""
    own = [c for c in configs if c.model == model and c.p50 is not None
           and (default is None or c.policy == default)]
    return min(own, key=lambda c: c.p50) if own else None  # type: ignore[arg-type, return-value]


def _default_policies(runs: list[Run]) -> dict[str, str]:
    out: dict[str, str] = {}
    for run in runs:
        for model in set(run.results["model"]):
            policy = run.default_policy(str(model))
            if policy is not None:
                out.setdefault(str(model), policy)
    return out


def matched_speedups(runs: list[Run], configs: list[Config]) -> list[Matched]:
    """Per target and run, each binary model against the fastest accuracy-matched fp
    configuration (see the module docstring)."""
    defaults = _default_policies(runs)
    out = []
    for members in groups(configs).values():
        fp = sorted((c for c in members if c.full_precision and c.p50 is not None),
                    key=lambda c: c.p50)  # type: ignore[arg-type, return-value]
        fp_final = [c for c in members if c.model == "fp-transformer" and c.ops]
        for model in sorted({c.model for c in members if not c.full_precision}):
            ref = _reference(members, model, defaults.get(model))
            if ref is None:
                continue
            rival, diff = None, None
            for cand in fp:  # fastest first
                d = difference(cand, ref)
                if d is not None and d.high >= 0.0:
                    rival, diff = cand, d
                    break
            ops_ratio = (fp_final[0].ops / ref.ops if fp_final and ref.ops else None)
            out.append(Matched(ref, rival, diff, fp[0] if fp else None, ops_ratio))
    return out


@dataclass(frozen=True)
class Static:
    """An early-exit policy beside the fixed-depth truncation of the same expected cost."""

    policy: Config
    fixed: Config
    diff: Difference | None  # policy - fixed

    @property
    def verdict(self) -> str:
        if self.diff is None:
            return "not comparable (no predictions)"
        if not self.diff.distinguishable:
            return "no better than the fixed depth (not distinguishable)"
        return "beats the fixed depth" if self.diff.points > 0 else "worse than the fixed depth"


def static_depths(configs: list[Config]) -> list[Static]:
    out = []
    for members in groups(configs).values():
        fixed = {(c.model, _engine(c.runtime), c.policy): c for c in members
                 if c.policy.startswith(FIXED_PREFIX)}
        for c in members:
            if c.policy.startswith(FIXED_PREFIX) or c.avg_exit is None:
                continue
            depths = sorted(int(p[len(FIXED_PREFIX):]) for m, r, p in fixed
                            if m == c.model and r == _engine(c.runtime))
            if not depths:
                continue
            k = min(depths, key=lambda d: (abs(d - c.avg_exit), d))  # type: ignore[operator]
            twin = fixed[(c.model, _engine(c.runtime), f"{FIXED_PREFIX}{k}")]
            out.append(Static(c, twin, difference(c, twin)))
    return out


def pareto_front(members: list[Config]) -> set[str]:
    """Names of the configurations on the accuracy-vs-p50 front (valid timings only)."""
    timed = [c for c in members if c.p50 is not None]
    keep = on_front([c.p50 for c in timed], [c.acc for c in timed])  # type: ignore[misc]
    return {c.name for c, kept in zip(timed, keep, strict=True) if kept}
