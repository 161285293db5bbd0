"""The paper-claims table: our measurement of each headline claim beside the published one."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.measure.uncertainty import in_words
from beexbench.report.fmt import format_value
from beexbench.report.seeds import seed_mean

CLAIM_MODEL = "beexformer"


@dataclass(frozen=True)
class Claim:
    name: str
    metric: M.Metric  # the results metric (and summary column) holding our measurement
    published: float  # the figure the BEExformer paper reports


# Constants of the paper, not measurements of ours.
CLAIMS: tuple[Claim, ...] = (
    Claim("Size reduction vs full precision", M.SIZE_RATIO_VS_FP, 18.44),
    Claim("FLOP reduction from early exit", M.FLOP_REDUCTION, 54.85),
    Claim("Accuracy change from early exit", M.ACC_GAIN_FROM_EXITS, 5.98),
)
CLAIM_COLUMNS = ["claim", "unit", "published", "measured", "uncertainty", "model", "policy",
                 "seed", "dataset", "preset", "target", "runtime", "host"]


def _published(claim: Claim) -> str:
    sign = "+" if claim.metric.unit == "pts" and claim.published > 0 else ""
    return f"{sign}{format_value(claim.published)}"


def _ci(row: pd.Series, name: str) -> tuple[float, float] | None:
    low, high = row.get(f"{name}_ci95_low"), row.get(f"{name}_ci95_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return None
    return float(low), float(high)


def uncertainty(claim: Claim, row: pd.Series) -> str:
    """What the measurement's interval and test say, in words."""
    if claim.metric.gate == M.STRUCTURAL:
        return "exact: fixed by the architecture (no sampling error)"
    ci = _ci(row, claim.metric.name)
    if ci is None:
        return "no interval in these results"
    if claim.metric is M.ACC_GAIN_FROM_EXITS:
        p = row.get("acc_gain_from_exits_p_mcnemar")
        return in_words(ci[0], ci[1], None if p is None or pd.isna(p) else float(p))
    return f"95 % interval {ci[0]:.4g} to {ci[1]:.4g} {claim.metric.unit} over test samples"


def _seed_rows(claim: Claim, ours: pd.DataFrame) -> list[list[str]]:
    """A row for the mean over seeds of each model/policy/target measured at 2+ seeds."""
    rows = []
    group = ["model", "policy", "dataset", "preset", "target", "runtime", "host"]
    for key, part in ours.groupby(group, sort=True):
        if part["seed"].nunique() < 2 or part[claim.metric.name].isna().all():
            continue
        mean, interval, n = seed_mean(part, claim.metric.name)
        if claim.metric.gate == M.STRUCTURAL:
            words = "exact: fixed by the architecture (no sampling error)"
        elif interval is None:
            words = f"mean of {n} seeds; an interval across seeds needs 3 or more"
        else:
            side = ("not distinguishable from 0 across seeds" if interval[0] <= 0 <= interval[1]
                    else "different from 0 across seeds") if claim.metric.unit == "pts" else ""
            words = (f"mean of {n} seeds, 95 % t interval {interval[0]:.4g} to "
                     f"{interval[1]:.4g} {claim.metric.unit}" + (f"; {side}" if side else ""))
        fields = dict(zip(group, key, strict=True))
        rows.append([claim.name, claim.metric.unit, _published(claim), format_value(mean), words,
                     fields["model"], fields["policy"], f"mean of {n}", fields["dataset"],
                     fields["preset"], fields["target"], fields["runtime"], fields["host"]])
    return rows


HEADLINE_COLUMNS = ["claim", "unit", "published", "measured", "uncertainty", "measured on",
                    "note"]


def _reference_rows(ours: pd.DataFrame) -> pd.DataFrame:
    """The reference configuration of each run and target: beexformer under a calibrated
    policy (not a fixed-depth baseline) on its fastest valid runtime."""
    calibrated = ours[~ours["policy"].astype(str).str.startswith("fixed-depth-")]
    if calibrated.empty:
        return calibrated
    p50 = pd.to_numeric(calibrated.get("latency_p50_ms"), errors="coerce")
    if M.TIMING_VALID.name in calibrated:
        p50 = p50.where(pd.to_numeric(calibrated[M.TIMING_VALID.name], errors="coerce") != 0)
    ranked = calibrated.assign(_p50=p50.fillna(float("inf"))).sort_values("_p50", kind="stable")
    return ranked.groupby(["run_id", "target", "seed"], sort=True).head(1)


def headline_claims(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """One row per claim (per run and target where there are several), for the run's
    reference configuration; says so when beexformer is absent."""
    ours = _reference_rows(summary[summary["model"] == CLAIM_MODEL])
    rows: list[list[str]] = []
    for claim in CLAIMS:
        if ours.empty:
            rows.append([claim.name, claim.metric.unit, _published(claim),
                         f"not measured: no {CLAIM_MODEL} in these runs", "", "", ""])
            continue
        for _, row in ours.iterrows():
            value = row[claim.metric.name]
            where = (f"{row['model']}, {row['policy']}, {row['runtime']}, {row['target']}, "
                     f"{row['dataset']} {row['preset']}, seed {row['seed']}")
            flag = str(row.get("degenerate_policy") or "")
            note = (f"measured under a policy that {flag}" if flag and claim.metric.gate
                    != M.STRUCTURAL else "")
            rows.append([claim.name, claim.metric.unit, _published(claim),
                         format_value(value) if pd.notna(value) else "not in results",
                         uncertainty(claim, row) if pd.notna(value) else "", where, note])
    return HEADLINE_COLUMNS, rows


def paper_claims(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the detailed claims table: every beexformer configuration."""
    rows: list[list[str]] = []
    ours = summary[summary["model"] == CLAIM_MODEL]
    for claim in CLAIMS:
        if ours.empty:
            rows.append([claim.name, claim.metric.unit, _published(claim),
                         f"not measured: no {CLAIM_MODEL} in these runs",
                         "", "", "", "", "", "", "", "", ""])
            continue
        for _, row in ours.iterrows():
            name = claim.metric.name
            value = row[name]
            measured = format_value(value) if pd.notna(value) else (
                f"not in results ({name} missing"
                + (": needs fp-transformer in the same run)" if claim.metric is M.SIZE_RATIO_VS_FP
                   else ")"))
            rows.append([claim.name, claim.metric.unit, _published(claim), measured,
                         uncertainty(claim, row) if pd.notna(value) else "", row["model"],
                         row["policy"], str(row["seed"]), row["dataset"], row["preset"],
                         row["target"], row["runtime"], row["host"]])
        rows += _seed_rows(claim, ours)
    return CLAIM_COLUMNS, rows
