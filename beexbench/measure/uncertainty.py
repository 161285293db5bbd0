"""Uncertainty of the figures computed from predictions: bootstrap intervals, McNemar tests.

Every accuracy figure is the mean over eval samples of a per-sample value (1 if the
exit is right; for `acc_gain_from_exits_pts`, policy right minus final right), so one
percentile bootstrap over the samples gives its interval. The resamples come from a
fixed generator, so the same predictions give the same interval on every machine.
Paired comparisons on the same samples (policy vs final exit, a model vs
fp-transformer) use the exact two-sided McNemar test: a binomial test on the samples
where exactly one of the two is right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


def bootstrap_ci(values: Sequence[float] | np.ndarray, scale: float = 1.0
                 ) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of `values`, times `scale`."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no samples")
    if np.all(x == x[0]):
        # Every resample has the same mean (scipy would warn and return NaN).
        return float(x[0] * scale), float(x[0] * scale)
    res = bootstrap((x,), np.mean, n_resamples=RESAMPLES, confidence_level=LEVEL,
                    method="percentile", vectorized=True, rng=np.random.default_rng(SEED))
    return float(res.confidence_interval.low * scale), float(res.confidence_interval.high * scale)


def mcnemar_p(right_a: Sequence[bool], right_b: Sequence[bool]) -> float:
    """Exact two-sided McNemar p of two classifiers' correctness on the same samples."""
    a = np.asarray(right_a, dtype=bool)
    b = np.asarray(right_b, dtype=bool)
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5, alternative="two-sided").pvalue)


def paired_difference(right_a: Sequence[bool], right_b: Sequence[bool]
                      ) -> tuple[float, float, float, float]:
    """(a - b in points, its interval low, high, McNemar p) on the same samples."""
    diff = np.asarray(right_a, dtype=float) - np.asarray(right_b, dtype=float)
    low, high = bootstrap_ci(diff, 100.0)
    return float(100.0 * diff.mean()), low, high, mcnemar_p(right_a, right_b)


def in_words(low: float, high: float, p: float | None, unit: str = "pts") -> str:
    """What an interval around a difference says, for a reader who only reads this."""
    interval = f"95 % interval {low:+.2f} to {high:+.2f} {unit}"
    test = f", McNemar p = {p:.3g}" if p is not None else ""
    if low <= 0 <= high:
        return f"not distinguishable from 0 at this test-set size ({interval}{test})"
    return f"different from 0 ({interval}{test})"
