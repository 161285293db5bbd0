"""GLUE tasks from a local directory of the standard TSV files (`--data-dir`).

train.tsv and dev.tsv are pooled and split by our seeded stratified split, like every
other dataset; the unlabeled test.tsv is not used. Sentence pairs are joined with a
separator token.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from beexbench.core.errors import UsageError
from beexbench.core.typed_json import read_regular_file
from beexbench.data.base import TextDataset
from beexbench.data.catalog import DATASETS

SEPARATOR = " [SEP] "


@dataclass(frozen=True)
class GlueTask:
    folder: str
    text_columns: tuple[str, ...]  # column names, or indices as strings when headerless
    label_column: str
    label_names: tuple[str, ...]
    header: bool = True


TASKS: dict[str, GlueTask] = {
    "sst2": GlueTask("SST-2", ("sentence",), "label", ("0", "1")),
    "cola": GlueTask("CoLA", ("3",), "1", ("0", "1"), header=False),
    "mrpc": GlueTask("MRPC", ("#1 String", "#2 String"), "Quality", ("0", "1")),
    "rte": GlueTask("RTE", ("sentence1", "sentence2"), "label", ("not_entailment", "entailment")),
    "qnli": GlueTask("QNLI", ("question", "sentence"), "label", ("not_entailment", "entailment")),
}


MAX_FILE_BYTES = 1 << 30  # GLUE's largest file (QNLI train) is under 30 MB
MAX_FIELD_CHARS = 131_072  # the csv module's own limit, named so the error can say it


def _rows(path: Path, lines: list[str]) -> list[list[str]]:
    """The TSV rows; a NUL byte or an overlong field names its line."""
    for lineno, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise UsageError(f"{path}: line {lineno}: contains a NUL byte")
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        return list(reader)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UsageError(f"{path}: line {reader.line_num}: a field longer than "
                             f"{MAX_FIELD_CHARS} characters") from None
        raise UsageError(f"{path}: line {reader.line_num}: not a TSV row ({exc})") from None


def read_glue_tsv(path: Path, task: GlueTask) -> tuple[list[str], list[int]]:
    """Rows of one TSV file; a missing column or a bad label names the file and line."""
    data = read_regular_file(path, what="GLUE file", max_bytes=MAX_FILE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    lines = text.splitlines()
    rows = _rows(path, lines)
    if task.header:
        if not rows:
            raise UsageError(f"{path}: line 1: empty file, expected a header")
        header, body, first = rows[0], rows[1:], 2
        for col in (*task.text_columns, task.label_column):
            if col not in header:
                raise UsageError(f"{path}: line 1: missing column {col!r}")
        index = {name: header.index(name) for name in header}
    else:
        body, first = rows, 1
        index = {str(i): i for i in range(max(int(c) for c in task.text_columns) + 1)}
    texts: list[str] = []
    labels: list[int] = []
    for lineno, row in enumerate(body, start=first):
        wanted = [index[c] for c in (*task.text_columns, task.label_column)]
        if len(row) <= max(wanted):
            raise UsageError(f"{path}: line {lineno}: expected {max(wanted) + 1} columns, "
                             f"found {len(row)}")
        label = row[index[task.label_column]].strip()
        if label not in task.label_names:
            raise UsageError(f"{path}: line {lineno}: bad label {label!r}; "
                             f"expected one of {', '.join(task.label_names)}")
        texts.append(SEPARATOR.join(row[index[c]].strip() for c in task.text_columns))
        labels.append(task.label_names.index(label))
    return texts, labels


def load_glue(task_name: str, data_dir: Path | None) -> TextDataset:
    task = TASKS[task_name]
    if data_dir is None:
        raise UsageError(f"dataset glue-{task_name} needs --data-dir with the GLUE TSV files")
    folder = data_dir / task.folder if (data_dir / task.folder).is_dir() else data_dir
    texts: list[str] = []
    labels: list[int] = []
    for split in ("train.tsv", "dev.tsv"):
        path = folder / split
        if not path.exists():
            raise UsageError(f"{path}: not found (glue-{task_name} needs train.tsv and dev.tsv)")
        if not path.is_file():
            raise UsageError(f"{path}: not a regular file")
        t, y = read_glue_tsv(path, task)
        texts += t
        labels += y
    if not texts:
        raise UsageError(f"{folder}: train.tsv and dev.tsv hold no rows")
    return TextDataset(f"glue-{task_name}", tuple(texts), tuple(labels), task.label_names)


def _register(task_name: str) -> None:
    def load(data_dir: Path | None = None) -> TextDataset:
        return load_glue(task_name, data_dir)

    load.__doc__ = f"GLUE {task_name.upper()}, train + dev TSV files from --data-dir"
    DATASETS.register(f"glue-{task_name}")(load)


for _name in TASKS:
    _register(_name)
