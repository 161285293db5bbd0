"""Compare a run with a baseline and say what moved (gates in `baseline`'s docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy.stats import mannwhitneyu

from beexbench.measure import catalog as M
from beexbench.regress.baseline import (
    DEFAULTS,
    build_baseline,
    classify,
    key_metric,
    key_stat,
    run_samples,
    tolerance,
)
from beexbench.results.rundir import Run


@dataclass(frozen=True)
class Finding:
    """One baseline or run figure and what became of it."""

    key: str
    kind: str  # the gate class
    status: str  # ok, changed, regressed, improved, flagged, drifted, missing, new
    baseline: float | None
    current: float | None
    note: str = ""
    fails: bool = False  # fails the gate whatever --gate-noisy says


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


def _structural(entry: dict[str, Any], cur: float, tol: float) -> tuple[str, str]:
    base = entry["value"]
    if abs(cur - base) <= tol * abs(base) or (math.isnan(base) and math.isnan(cur)):
        return "ok", ""
    rel = f" ({(cur - base) / base:+.4%})" if base else ""
    return "changed", f"{cur - base:+.10g}{rel}, gated exactly (rel {tol:g})"


def _learned(entry: dict[str, Any], cur: float, tol: float, what: str) -> tuple[str, str]:
    """Within `tol` either way: ok; beyond it: regressed or improved, and both fail."""
    base = entry["value"]
    delta = cur - base
    if math.isnan(base) or math.isnan(cur):
        return ("ok", "") if math.isnan(base) and math.isnan(cur) else (
            "regressed", "a number on one side only")
    if abs(delta) <= tol:
        return "ok", ""
    better = entry.get("better")
    gain = delta if better == M.HIGHER else -delta
    status = "improved" if better in (M.HIGHER, M.LOWER) and gain > 0 else "regressed"
    word = {"improved": "better", "regressed": "worse"}[status]
    return status, (f"{delta:+.4g} {entry['unit']} ({word}), tolerance {what}; "
                    "beyond drift: rebuild the baseline if intended")


def _noisy(entry: dict[str, Any], cur: float, base_raw: list[float], cur_raw: list[float],
           factor: float, p_max: float) -> tuple[str, str]:
    base = entry["value"]
    if math.isnan(base) or math.isnan(cur):
        return ("ok", "") if math.isnan(base) and math.isnan(cur) else (
            "drifted", "a number on one side only")
    if base <= 0 or cur <= 0:
        return ("ok", "") if base == cur else ("drifted", "non-positive value, no ratio")
    ratio = cur / base if entry.get("better") == M.LOWER else base / cur  # > 1: worse
    if max(ratio, 1 / ratio) <= factor:
        return "ok", ""
    p = _mann_whitney_p(base_raw, cur_raw)
    if p is None:
        evidence = "ratio only (no raw samples on both sides)"
    elif p > p_max:
        return "ok", ""  # the samples do not tell the two runs apart
    else:
        evidence = f"Mann-Whitney p={p:.2g}"
    if ratio > 1:
        return "flagged", f"x{cur / base:.3f}: worse by x{ratio:.3f} (> {factor:g}); {evidence}"
    return "improved", f"x{cur / base:.3f}: better by x{1 / ratio:.3f} (> {factor:g}); {evidence}"


def _key_parts(key: str) -> tuple[str, str]:
    """(model, disambiguating suffix) of a baseline key."""
    head, _, suffix = key.partition(";")
    return head.split("/")[0], suffix


def _runtime_of(key: str) -> str | None:
    """The runtime a key names (runs of several runtimes), else None: the model's files."""
    for part in _key_parts(key)[1].split(";"):
        if part.startswith("runtime="):
            return part.removeprefix("runtime=")
    return None


def exit_spans(entries: dict[str, Any]) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    """(model, suffix, per-exit pattern) -> (min, max, value at the deepest exit)."""
    found: dict[tuple[str, str, str], dict[int, float]] = {}
    for key, entry in entries.items():
        metric = key_metric(key)
        k = M.exit_block(metric)
        cat = M.lookup(metric)
        if k is None or cat is None or cat.gate != M.STRUCTURAL:
            continue
        model, suffix = _key_parts(key)
        found.setdefault((model, suffix, cat.name), {})[k] = entry["value"]
    return {key: (min(v.values()), max(v.values()), v[max(v)]) for key, v in found.items()}


def exit_span_width(key: str, cat: M.Metric,
                    spans: dict[tuple[str, str, str], tuple[float, float, float]]
                    ) -> float | None:
    """How far an exit_share_tol figure moves, in its unit, if every sample's exit moved
    from the shallowest to the deepest exit; None without per-exit counts."""
    model, suffix = _key_parts(key)
    span = spans.get((model, suffix, cat.per_exit))
    if span is None:
        return None
    low, high, last = span
    return 100.0 * (high - low) / last if cat.of_last else high - low


def _learned_tolerance(key: str, cat: M.Metric, tol: float,
                       spans: dict[tuple[str, str, str], tuple[float, float, float]]
                       ) -> tuple[float, str]:
    """The tolerance in the figure's unit, and how it was derived."""
    if cat.tolerance != "exit_share_tol":
        return tol, f"{tol:g} {cat.unit}"
    if cat.of_samples:
        return 100.0 * tol, f"{tol:g} of the samples"
    width = exit_span_width(key, cat, spans)
    if width is None:
        return 0.0, "exact (no per-exit counts in the baseline)"
    return tol * width, f"{tol:g} of the exit span {width:.6g} {cat.unit}"


# Learned figures that no exit policy's constant moves (every exit's own accuracy, the
# overthinking rates, the sweeps over the whole grid): gated even where a policy
# recalibrated, since they are stored under the model's default policy.
CALIBRATION_FREE = (M.ACC_EXIT, M.ACC_FINAL, M.ACC_ORACLE, M.OVERTHINKING_DESTRUCTIVE,
                    M.OVERTHINKING_WASTEFUL, M.SWEEP_ACC_POLICY, M.SWEEP_OPS_EXPECTED)


def _calibration_key(key: str) -> str:
    """The key of the calibrated constant of the policy a key's figure was measured under."""
    head, sep, rest = key.partition(";")
    model, policy = head.split("/")[:2]
    return f"{model}/{policy}/{M.POLICY_PARAM.name}/calibrated" + sep + rest


def recalibrated(base: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    """Calibration keys whose constant differs between the baseline and the run, with a
    note. Calibration picks one grid value; where training drifts (another CPU) it may
    pick a neighbour, and every figure measured under that policy then describes another
    setting: reported as recalibrated, not as a regression. The fixed-depth baselines
    and every policy-free figure are gated as usual."""
    out = {}
    for key, entry in base.items():
        if key_metric(key) != M.POLICY_PARAM.name or key_stat(key) != "calibrated":
            continue
        now = current.get(key)
        if now is not None and now["value"] != entry["value"]:
            out[key] = (f"the policy calibrated to {now['value']:g} here, "
                        f"{entry['value']:g} in the baseline: not comparable")
    return out


# Figures of the batch-1 loop that `timing_valid` judges.
JUDGED = (M.LATENCY_MS.name, M.CPU_TIME_MS.name)


def _invalid_timing(key: str, metric: str, stat: str, *entries: dict[str, Any]) -> bool:
    """Whether the loop behind a judged figure was found not valid, in the run or in
    the baseline: such a figure is uninformative either way."""
    if metric not in JUDGED:
        return False
    head, sep, rest = key.partition(";")
    verdict = head.replace(f"/{metric}/{stat}", f"/{M.TIMING_VALID.name}/value") + sep + rest
    return any(e.get(verdict, {}).get("value") == 0 for e in entries)


def compare(baseline: dict[str, Any], run: Run, options: Options | None = None) -> list[Finding]:
    """Every baseline entry against the run, then the run's figures the baseline lacks."""
    opts = options or Options()
    defaults = {**DEFAULTS, **baseline.get("defaults", {})}
    if opts.acc_abs_tol is not None:
        defaults["acc_abs_tol"] = opts.acc_abs_tol
    if opts.noisy_factor is not None:
        defaults["noisy_factor"] = opts.noisy_factor
    p_max = opts.noisy_p if opts.noisy_p is not None else defaults["noisy_p"]
    current = build_baseline(run)["entries"]
    spans = exit_spans(baseline["entries"])
    moved = recalibrated(baseline["entries"], current)
    findings: list[Finding] = []
    for key, entry in baseline["entries"].items():
        metric, stat = key_metric(key), key_stat(key)
        cat = M.lookup(metric)
        gate = classify(metric, stat)[0]
        if key not in current:
            findings.append(Finding(key, gate, "missing", entry["value"], None,
                                    "in the baseline, not in the run", fails=True))
            continue
        cur = current[key]["value"]
        tol = tolerance(metric, entry, defaults, stat)
        fails = False
        if _calibration_key(key) in moved and gate in (M.LEARNED, M.NOISY) \
                and cat not in CALIBRATION_FREE:
            status, note = "recalibrated", moved[_calibration_key(key)]
        elif gate == M.STRUCTURAL:
            status, note = _structural(entry, cur, tol)
            fails = status != "ok"
        elif gate == M.LEARNED:
            allowed, what = _learned_tolerance(key, cat, tol, spans)
            status, note = _learned(entry, cur, allowed, what)
            fails = status != "ok"
        elif gate == M.NOISY and _invalid_timing(key, metric, stat, current,
                                                  baseline["entries"]):
            status, note = "invalid", "timing judged not valid (contended or short): " \
                                      "uninformative"
        elif gate == M.NOISY:
            model, policy = key.split(";")[0].split("/")[:2]
            base_raw = baseline.get("samples", {}).get(entry.get("samples", ""), [])
            seed = key.partition(";seed=")[2].split(";")[0]
            cur_raw = run_samples(run, model, policy, metric, entry.get("batch_size", 1),
                                  _runtime_of(key), seed)
            status, note = _noisy(entry, cur, base_raw, cur_raw, tol, p_max)
        else:
            same = cur == entry["value"] or (math.isnan(cur) and math.isnan(entry["value"]))
            status, note = ("ok", "") if same else ("drifted", "informational")
        findings.append(Finding(key, gate, status, entry["value"], cur, note, fails))
    for key, entry in current.items():
        if key not in baseline["entries"]:
            findings.append(Finding(key, entry["gate"], "new", None, entry["value"],
                                    "not in the baseline"))
    return findings


def failing(findings: list[Finding], gate_noisy: bool = False) -> list[Finding]:
    return [f for f in findings
            if f.fails or (gate_noisy and f.kind == M.NOISY and f.status == "flagged")]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def render_findings(findings: list[Finding], gate_noisy: bool = False) -> str:
    """A plain-text table of everything that moved, and a one-line tally."""
    moved = [f for f in findings if f.status != "ok"]
    fails = failing(findings, gate_noisy)
    lines = []
    if moved:
        header = ("status", "gate", "key", "baseline", "run", "change")
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
