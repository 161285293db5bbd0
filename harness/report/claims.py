"""The paper-claims table: our measurement of each headline claim beside the published one."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harness.metrics import catalog as M
from harness.report.fmt import format_value

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
CLAIM_COLUMNS = ["claim", "unit", "published", "measured", "model", "policy", "dataset",
                 "preset", "target", "runtime", "host"]


def _published(claim: Claim) -> str:
    sign = "+" if claim.metric.unit == "pts" and claim.published > 0 else ""
    return f"{sign}{format_value(claim.published)}"


def paper_claims(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the claims table; says so in the table when beexformer is absent."""
    rows: list[list[str]] = []
    ours = summary[summary["model"] == CLAIM_MODEL]
    for claim in CLAIMS:
        if ours.empty:
            rows.append([claim.name, claim.metric.unit, _published(claim),
                         f"not measured: no {CLAIM_MODEL} in these runs",
                         "", "", "", "", "", "", ""])
            continue
        for _, row in ours.iterrows():
            name = claim.metric.name
            value = row[name]
            measured = format_value(value) if pd.notna(value) else (
                f"not in results ({name} missing"
                + (": needs fp-transformer in the same run)" if claim.metric is M.SIZE_RATIO_VS_FP
                   else ")"))
            rows.append([claim.name, claim.metric.unit, _published(claim), measured, row["model"],
                         row["policy"], row["dataset"], row["preset"], row["target"],
                         row["runtime"], row["host"]])
    return CLAIM_COLUMNS, rows
