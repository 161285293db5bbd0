"""The metric catalogue: every figure beexbench writes, declared once.

A metric has a name (or a pattern with `{k}`, the 1-based exit block), a unit, the
stats it is written with, a gate class, a direction and a human label. The runner
writes rows through it (a name it does not know is a bug), and the summaries, the
report, the plots and `regress` read names, units, labels and gates from it.

Gate classes (how `regress` treats a figure; DESIGN.md section 8):

- structural: fixed by the architecture and the preset (sizes, parameter counts, op
  counts per forced exit depth and their ratios). The same on every machine, so
  gated exactly.
- learned: fixed by the trained weights or the predictions (accuracies, exit depths,
  overthinking rates, expected ops, sweeps). Training is not bit-identical across
  CPUs, so gated within a tolerance; `tolerance` names the baseline default that
  applies to it.
- noisy: latency, throughput, memory, energy. Gated by a ratio and a Mann-Whitney U
  test, asv's rule, and informational by default.

Tolerance kinds of learned figures (the names of the baseline's "defaults"):

- `acc_abs_tol`: points of accuracy (or of a rate over the eval samples);
- `exit_abs_tol`: blocks of average exit depth;
- `exit_share_tol`: a share of the eval samples whose exit may move between the
  shallowest and the deepest exit. A figure weighted by the exit distribution
  (`*_expected`, `flop_reduction_pct`, `sweep_ops_expected`) moves by at most that
  share times its span over the forced exits (`per_exit`), so its tolerance follows
  the model's own op counts instead of a fixed percentage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STRUCTURAL, LEARNED, NOISY = "structural", "learned", "noisy"
GATES = (STRUCTURAL, LEARNED, NOISY)
HIGHER, LOWER, NONE = "higher", "lower", "none"
VALUE = ("value",)
# An accuracy-like figure, with its percentile-bootstrap interval over eval samples.
WITH_CI = ("value", "ci95_low", "ci95_high")
# Stats that describe a figure's evidence rather than the figure: reported, never gated.
# A calibrated constant and its grid's ends describe how a policy was set: reported
# (the report names a constant at its grid's edge), never gated, since calibration on
# another CPU may pick a neighbouring grid value.
UNGATED_STATS = ("p_mcnemar", "calibrated", "grid_min", "grid_max")
LATENCY_STATS = ("p50", "p90", "p99", "mean", "std")
# A sweep row's stat names the swept constant and its value, e.g. "delta=0.05".
SWEEP_STAT = re.compile(r"^[a-z_]+=[-+0-9.e]+$")


@dataclass(frozen=True)
class Metric:
    """One catalogued figure (see the module docstring)."""

    name: str  # an exact name, or a pattern with {k}
    unit: str
    gate: str
    better: str
    label: str  # for people: table headers, axis labels; may use {k}
    stats: tuple[str, ...] = VALUE  # empty: any stat SWEEP_STAT matches
    tolerance: str = ""  # learned only: which baseline default applies
    per_exit: str = ""  # exit_share_tol only: the per-exit pattern that sets the span
    of_last: bool = False  # exit_share_tol only: the figure is a % of the last exit's count
    stat_units: tuple[tuple[str, str], ...] = ()  # stats whose unit is not the metric's
    of_samples: bool = False  # exit_share_tol only: the figure is a % of the eval samples

    def unit_of(self, stat: str) -> str:
        return dict(self.stat_units).get(stat, self.unit)

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.name).replace(r"\{k\}", r"(\d+)") + "$")

    def at(self, k: int) -> str:
        """The name of a per-exit metric at exit block k."""
        if "{k}" not in self.name:
            raise ValueError(f"{self.name} is not a per-exit metric")
        return self.name.format(k=k)

    def allows(self, stat: str) -> bool:
        return stat in self.stats if self.stats else bool(SWEEP_STAT.match(stat))

    def header(self, stat: str = "value", k: int | str | None = None) -> str:
        """A column header: the label, the stat where it is not the only one, the unit."""
        label = self.label.format(k=k) if k is not None else self.label
        shown = f" {stat}" if stat != "value" and len(self.stats) > 1 else ""
        return f"{label}{shown} ({self.unit_of(stat)})"


CATALOG: list[Metric] = []


def _add(metric: Metric) -> Metric:
    if metric.gate not in GATES or metric.better not in (HIGHER, LOWER, NONE):
        raise ValueError(f"bad catalogue entry {metric.name}")
    if (metric.gate == LEARNED) != bool(metric.tolerance):
        raise ValueError(f"{metric.name}: learned figures, and only they, name a tolerance")
    CATALOG.append(metric)
    return metric


def _points(name: str, label: str, better: str = HIGHER, unit: str = "%",
            stats: tuple[str, ...] = VALUE, **kw: object) -> Metric:
    return _add(Metric(name, unit, LEARNED, better, label, stats, tolerance="acc_abs_tol",
                       **kw))


def _expected(name: str, unit: str, label: str, per_exit: str, **kw: object) -> Metric:
    return _add(Metric(name, unit, LEARNED, LOWER, label, tolerance="exit_share_tol",
                       per_exit=per_exit, **kw))


# -- structural: sizes and op counts -------------------------------------------------------
MODEL_BYTES = _add(Metric("model_bytes", "bytes", STRUCTURAL, LOWER,
                          "model bytes (packed artifact on disk)"))
COMPRESSION_RATIO = _add(Metric("compression_ratio", "x", STRUCTURAL, HIGHER,
                                "compression vs own fp32 artifact"))
SIZE_RATIO_VS_FP = _add(Metric("size_ratio_vs_fp", "x", STRUCTURAL, HIGHER,
                               "size reduction vs fp-transformer"))
PARAMS_TOTAL = _add(Metric("params_total", "count", STRUCTURAL, NONE, "parameters"))
PARAMS_BINARY = _add(Metric("params_binary", "count", STRUCTURAL, NONE, "binary parameters"))
PARAM_BYTES_RESIDENT = _add(Metric("param_bytes_resident", "bytes", STRUCTURAL, LOWER,
                                   "parameter bytes resident in memory"))
MACS_EXIT = _add(Metric("macs_exit_{k}", "MAC", STRUCTURAL, LOWER, "MACs to exit {k}"))
FLOPS_EXIT = _add(Metric("flops_exit_{k}", "FLOP", STRUCTURAL, LOWER, "FLOPs to exit {k}"))
BOPS_EXIT = _add(Metric("bops_exit_{k}", "BOP", STRUCTURAL, LOWER, "BOPs to exit {k}"))
OPS_EXIT = _add(Metric("ops_exit_{k}", "op", STRUCTURAL, LOWER,
                       "ops to exit {k} (flops + bops/64)"))

# -- learned: accuracy, exits, overthinking ------------------------------------------------
ACC_EXIT = _points("acc_exit_{k}", "accuracy at exit {k}", stats=WITH_CI)
ACC_FINAL = _points("acc_final", "accuracy at the last exit", stats=WITH_CI)
ACC_POLICY = _points("acc_policy", "accuracy under the exit policy", stats=WITH_CI)
ACC_ORACLE = _points("acc_oracle", "accuracy if any exit is right", stats=WITH_CI)
# p_mcnemar: exact two-sided McNemar test, policy vs final exit, on the same samples.
ACC_GAIN_FROM_EXITS = _points("acc_gain_from_exits_pts", "accuracy change from exits",
                              unit="pts", stats=(*WITH_CI, "p_mcnemar"),
                              stat_units=(("p_mcnemar", "p"),))
OVERTHINKING_DESTRUCTIVE = _points("overthinking_destructive_pct",
                                   "destructive overthinking", better=LOWER)
OVERTHINKING_WASTEFUL = _points("overthinking_wasteful_pct", "wasteful overthinking",
                                better=LOWER)
# The share of eval samples whose computation stopped at exit k under the policy: 95 % or
# more at one exit means the policy acts as a fixed depth (report.degenerate).
EXIT_SHARE = _add(Metric("exit_share_{k}", "%", LEARNED, NONE,
                         "share of samples stopping at exit {k}",
                         tolerance="exit_share_tol", of_samples=True))
POLICY_PARAM = _add(Metric("policy_param", "value", LEARNED, NONE,
                           "exit-policy constant, calibrated on validation",
                           ("calibrated", "grid_min", "grid_max"), tolerance="acc_abs_tol"))
AVG_EXIT_LAYER = _add(Metric("avg_exit_layer", "blocks", LEARNED, LOWER, "average exit block",
                             tolerance="exit_abs_tol"))
MACS_EXPECTED = _expected("macs_expected", "MAC", "expected MACs per sample", "macs_exit_{k}")
FLOPS_EXPECTED = _expected("flops_expected", "FLOP", "expected FLOPs per sample",
                           "flops_exit_{k}")
BOPS_EXPECTED = _expected("bops_expected", "BOP", "expected BOPs per sample", "bops_exit_{k}")
OPS_EXPECTED = _expected("ops_expected", "op", "expected ops per sample (flops + bops/64)",
                         "ops_exit_{k}")
FLOP_REDUCTION = _expected("flop_reduction_pct", "%", "ops saved by early exit",
                           "ops_exit_{k}", of_last=True, stats=WITH_CI)
SWEEP_ACC_POLICY = _points("sweep_acc_policy", "accuracy under the policy, swept", stats=())
SWEEP_OPS_EXPECTED = _expected("sweep_ops_expected", "op", "expected ops, swept",
                               "ops_exit_{k}", stats=())

# -- noisy: speed, memory, energy ----------------------------------------------------------
LATENCY_MS = _add(Metric("latency_ms", "ms", NOISY, LOWER, "latency at batch 1",
                         LATENCY_STATS))
CPU_TIME_MS = _add(Metric("cpu_time_ms", "ms", NOISY, LOWER,
                          "process CPU time per query at batch 1 (loop mean)", ("mean",)))
# The evidence behind each batch-1 latency figure, and its verdict (measure/validity.py).
LATENCY_QUERIES = _add(Metric("latency_queries", "count", NOISY, NONE,
                              "queries timed at batch 1"))
LATENCY_DURATION = _add(Metric("latency_duration_s", "s", NOISY, NONE,
                               "duration of the batch-1 loop"))
LATENCY_CV = _add(Metric("latency_cv", "ratio", NOISY, LOWER,
                         "coefficient of variation of batch-1 latency"))
LATENCY_ATTEMPTS = _add(Metric("latency_attempts", "count", NOISY, LOWER,
                               "batch-1 loops run: a loop judged not valid runs again"))
TIMING_VALID = _add(Metric("timing_valid", "bool", NOISY, HIGHER,
                           "batch-1 timing valid (minimums met, machine not contended)"))
LOAD_AVG = _add(Metric("load_avg", "load", NOISY, LOWER,
                       "1-minute load average around the loop", ("max",)))
RUNNABLE_THREADS = _add(Metric("runnable_threads", "count", NOISY, LOWER,
                               "runnable threads around the loop", ("max",)))
OTHER_CPU_PCT = _add(Metric("other_cpu_pct", "%", NOISY, LOWER,
                            "CPU used by other work during the loop, of all cores"))
CPU_STEAL_PCT = _add(Metric("cpu_steal_pct", "%", NOISY, LOWER, "CPU steal during the loop"))
INVOLUNTARY_SWITCHES = _add(Metric("involuntary_switches", "count", NOISY, LOWER,
                                   "involuntary context switches during the loop",
                                   ("per_s", "per_query"),
                                   stat_units=(("per_s", "1/s"), ("per_query", "1/query"))))
THROUGHPUT_SPS = _add(Metric("throughput_sps", "samples/s", NOISY, HIGHER, "throughput"))
PEAK_RSS_MB = _add(Metric("peak_rss_mb", "MB", NOISY, LOWER, "peak resident memory"))
CUDA_MAX_ALLOC_MB = _add(Metric("cuda_max_alloc_mb", "MB", NOISY, LOWER,
                                "peak CUDA memory allocated"))
ENERGY_J_PER_SAMPLE = _add(Metric("energy_j_per_sample", "J", NOISY, LOWER,
                                  "energy per sample", ("net", "gross")))
IDLE_POWER_W = _add(Metric("idle_power_w", "W", NOISY, LOWER, "idle power", ("mean",)))


def lookup(name: str) -> Metric | None:
    """The catalogue entry whose name or pattern matches `name`, or None."""
    for metric in CATALOG:
        if metric.pattern.match(name):
            return metric
    return None


def require(name: str, stat: str = "value") -> Metric:
    """The entry for a metric about to be written; an uncatalogued name or stat is a bug."""
    metric = lookup(name)
    if metric is None:
        raise KeyError(f"metric {name!r} is not in the catalogue (beexbench/measure/catalog.py)")
    if not metric.allows(stat):
        raise KeyError(f"metric {name!r} has no stat {stat!r} in the catalogue")
    return metric


def exit_block(name: str) -> int | None:
    """k of a per-exit metric name such as ops_exit_3, else None."""
    for metric in CATALOG:
        if "{k}" in metric.name:
            hit = metric.pattern.match(name)
            if hit:
                return int(hit.group(1))
    return None
