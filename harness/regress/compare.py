"""Compare a run with a baseline and say what moved (gates in `baseline`'s docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy.stats import mannwhitneyu

from harness.regress.baseline import DEFAULTS, build_baseline, run_samples, tolerance
from harness.report.rundir import Run

# Statuses that make `regress` exit 1; "flagged" joins them with gate_noisy.
FAILING = ("changed", "regressed", "missing")


@dataclass(frozen=True)
class Finding:
    """One baseline or run figure and what became of it."""

    key: str
    kind: str
    status: str  # ok, changed, regressed, improved, flagged, drifted, missing, new
    baseline: float | None
    current: float | None
    note: str = ""


@dataclass(frozen=True)
class Options:
    """Overrides of the baseline's tolerances (None: use the baseline's own)."""

    acc_abs_tol: float | None = None
    noisy_factor: float | None = None
    noisy_p: float | None = None


def _mann_whitney_p(base: list[float], cur: list[float]) -> float | None:
    if len(base) < 2 or len(cur) < 2:
        return None
    p = mannwhitneyu(base, cur, alternative="two-sided").pvalue
    return None if math.isnan(p) else float(p)


def _exact(entry: dict[str, Any], cur: float, tol: float) -> tuple[str, str]:
    base = entry["value"]
    if abs(cur - base) <= tol * abs(base) or (math.isnan(base) and math.isnan(cur)):
        return "ok", ""
    rel = f" ({(cur - base) / base:+.4%})" if base else ""
    return "changed", f"{cur - base:+.10g}{rel}, tolerance rel {tol:g}"


def _accuracy(entry: dict[str, Any], cur: float, tol: float) -> tuple[str, str]:
    base = entry["value"]
    worse = (base - cur) if entry.get("better") == "higher" else (cur - base)
    note = f"{cur - base:+.4g} {entry['unit']}, tolerance {tol:g}"
    if worse > tol:
        return "regressed", note
    if -worse > tol:
        return "improved", note
    return "ok", ""


def _noisy(entry: dict[str, Any], cur: float, base_raw: list[float], cur_raw: list[float],
           factor: float, p_max: float) -> tuple[str, str]:
    base = entry["value"]
    if base <= 0 or cur <= 0:
        return ("ok", "") if base == cur else ("drifted", "non-positive value, no ratio")
    ratio = cur / base if entry.get("better") == "lower" else base / cur  # > 1: worse
    if max(ratio, 1 / ratio) <= factor:
        return "ok", ""
    p = _mann_whitney_p(base_raw, cur_raw)
    if p is None:
        evidence = "ratio only (no raw samples on both sides)"
    elif p > p_max:
        return "ok", ""  # the samples do not tell the two runs apart
    else:
        evidence = f"Mann-Whitney p={p:.2g}"
    status = "flagged" if ratio > 1 else "improved"
    return status, f"x{cur / base:.3f} (worse by x{ratio:.3f} > {factor:g}); {evidence}"


def compare(baseline: dict[str, Any], run: Run, options: Options | None = None) -> list[Finding]:
    """Every baseline entry against the run, then the run's figures the baseline lacks."""
    opts = options or Options()
    defaults = {**DEFAULTS, **baseline.get("defaults", {})}
    p_max = opts.noisy_p if opts.noisy_p is not None else defaults["noisy_p"]
    current = build_baseline(run)["entries"]
    findings: list[Finding] = []
    for key, entry in baseline["entries"].items():
        kind = entry["kind"]
        if key not in current:
            findings.append(Finding(key, kind, "missing", entry["value"], None,
                                    "in the baseline, not in the run"))
            continue
        cur = current[key]["value"]
        tol = tolerance(entry, defaults)
        if kind == "exact":
            status, note = _exact(entry, cur, tol)
        elif kind == "accuracy":
            if opts.acc_abs_tol is not None and entry.get("unit") != "blocks":
                tol = opts.acc_abs_tol
            status, note = _accuracy(entry, cur, tol)
        elif kind == "noisy":
            model, policy, metric = key.split(";")[0].split("/")[:3]
            base_raw = baseline.get("samples", {}).get(entry.get("samples", ""), [])
            cur_raw = run_samples(run, model, policy, metric, entry.get("batch_size", 1))
            factor = opts.noisy_factor if opts.noisy_factor is not None else tol
            status, note = _noisy(entry, cur, base_raw, cur_raw, factor, p_max)
        else:
            same = cur == entry["value"] or (math.isnan(cur) and math.isnan(entry["value"]))
            status, note = ("ok", "") if same else ("drifted", "informational")
        findings.append(Finding(key, kind, status, entry["value"], cur, note))
    for key, entry in current.items():
        if key not in baseline["entries"]:
            findings.append(Finding(key, entry["kind"], "new", None, entry["value"],
                                    "not in the baseline"))
    return findings


def failing(findings: list[Finding], gate_noisy: bool = False) -> list[Finding]:
    statuses = FAILING + (("flagged",) if gate_noisy else ())
    return [f for f in findings if f.status in statuses]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def render_findings(findings: list[Finding], gate_noisy: bool = False) -> str:
    """A plain-text table of everything that moved, and a one-line tally."""
    moved = [f for f in findings if f.status != "ok"]
    fails = failing(findings, gate_noisy)
    lines = []
    if moved:
        header = ("status", "kind", "key", "baseline", "run", "change")
        rows = [(f.status + (" (fails)" if f in fails else ""), f.kind, f.key,
                 _num(f.baseline), _num(f.current), f.note) for f in moved]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            cells = (str(c).ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append("  ".join(cells).rstrip())
    tally: dict[str, int] = {}
    for f in findings:
        tally[f.status] = tally.get(f.status, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(tally.items()))
    verdict = f"FAIL: {len(fails)} regression(s)" if fails else "OK"
    lines.append(f"regress: {verdict}; {len(findings)} figures compared ({counts})")
    if not gate_noisy and any(f.status == "flagged" for f in findings):
        lines.append("regress: flagged latency/energy figures are informational "
                     "(--gate-noisy makes them fail)")
    return "\n".join(lines)
