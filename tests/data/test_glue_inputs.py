"""Damaged GLUE TSV files: one line naming the file (and line), exit 2, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import one_line

from beexbench.cli.main import main
from beexbench.data.glue import load_glue
from beexbench.data.splits import stratified_split

HEADER = b"sentence\tlabel\n"


def _rows(n: int) -> bytes:
    return b"".join(f"words {i}\t{i % 2}\n".encode() for i in range(n))


def _sst(tmp_path: Path, train: bytes, dev: bytes) -> Path:
    folder = tmp_path / "SST-2"
    folder.mkdir()
    (folder / "train.tsv").write_bytes(train)
    (folder / "dev.tsv").write_bytes(dev)
    return folder


def _train_fails(tmp_path: Path, capsys) -> str:
    code = main(["-q", "train", "--model", "beexformer", "--dataset", "glue-sst2", "--preset",
                 "tiny", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert one_line(err)
    return err


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path / "checkpoints"))


@pytest.mark.parametrize(
    ("train", "dev", "why"),
    [
        (HEADER, HEADER, "SST-2: train.tsv and dev.tsv hold no rows"),
        (HEADER, HEADER + _rows(3), "too few samples for a train/val/test split"),
        (HEADER + _rows(3), HEADER, "too few samples for a train/val/test split"),
        (HEADER + b"a\x00b\t1\n", HEADER, "train.tsv: line 2: contains a NUL byte"),
        (HEADER + b"x" * 131_073 + b"\t1\n", HEADER,
         "train.tsv: line 2: a field longer than 131072 characters"),
        (HEADER + "caf\u00e9\t1\n".encode("latin-1"), HEADER, "train.tsv: not UTF-8 text"),
        (b"", HEADER, "train.tsv: line 1: empty file, expected a header"),
    ],
)
def test_damaged_glue_files_are_one_line(tmp_path: Path, capsys, train: bytes, dev: bytes,
                                         why: str) -> None:
    _sst(tmp_path, train, dev)
    assert why in _train_fails(tmp_path, capsys)
    assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())


def test_a_fifo_as_train_tsv_is_refused_without_hanging(tmp_path: Path) -> None:
    folder = _sst(tmp_path, b"", HEADER + _rows(20))
    (folder / "train.tsv").unlink()
    os.mkfifo(folder / "train.tsv")
    env = {**os.environ, "BEEXBENCH_CHECKPOINTS": str(tmp_path / "checkpoints")}
    done = subprocess.run(
        [sys.executable, "-m", "beexbench", "-q", "train", "--model", "beexformer", "--dataset",
         "glue-sst2", "--preset", "tiny", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("train.tsv: not a regular file")
    assert len(done.stderr.strip().splitlines()) == 1


def test_header_only_train_with_enough_dev_rows_is_valid(tmp_path: Path) -> None:
    _sst(tmp_path, HEADER, HEADER + _rows(20))
    data = load_glue("sst2", tmp_path)
    assert len(data) == 20
    splits = stratified_split(data, 0)
    assert splits.train and splits.val and splits.test
