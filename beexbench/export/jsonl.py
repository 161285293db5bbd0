"""`--format jsonl`: rows.jsonl, one JSON object per results row, for
`pandas.read_json(path, lines=True)` or any line-by-line reader.

Every column of results.csv is there as stored text, except `value`: a number, or null
for a row without one (its `note` says why).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beexbench.core.atomic import atomic_write_text
from beexbench.export.formats import FORMATS, Exporter

if TYPE_CHECKING:
    from beexbench.results.rundir import Run

ROWS = "rows.jsonl"


def row_objects(run: Run) -> list[dict[str, Any]]:
    """The run's results rows as JSON-ready objects, in results.csv's column order."""
    # value_text is the reader's copy of the stored text, not a column of results.csv.
    columns = [c for c in run.results.columns if c != "value_text"]
    out = []
    for row in run.results[columns].itertuples(index=False, name=None):
        obj = dict(zip(columns, row, strict=True))
        value = float(obj["value"])
        obj["value"] = value if math.isfinite(value) else None
        out.append(obj)
    return out


@FORMATS.register("jsonl")
class Jsonl(Exporter):
    """rows.jsonl, one JSON object per results row (every run's, in order), for pandas."""

    files = (ROWS,)

    def write(self, runs: list[Run], out: Path | None) -> str:
        assert out is not None
        lines = [json.dumps(obj, ensure_ascii=False, allow_nan=False)
                 for run in runs for obj in row_objects(run)]
        atomic_write_text(out / ROWS, "".join(f"{line}\n" for line in lines),
                          what="rows file")
        return f"export: {out / ROWS} ({len(lines)} rows)"
