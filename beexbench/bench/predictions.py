"""Per-sample predictions of one model on one split, and their CSV file.

The file has the columns of `beexbench.results.schema.prediction_columns`: id, label,
exit_layer (block where computation stopped), pred_policy, then pred_k and entropy_k
for every exit block k. Every accuracy figure is recomputed from it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from beexbench.core.atomic import atomic_write_text
from beexbench.core.errors import UsageError
from beexbench.data.base import TextDataset
from beexbench.data.tokenizer import encode
from beexbench.measure.accuracy import accuracy_evidence, accuracy_metrics
from beexbench.measure.evaluate import ExitRecord, apply_policy, record_exits
from beexbench.models.exits import ExitPolicy
from beexbench.results.schema import prediction_columns
from beexbench.train.checkpoint import Checkpoint


@dataclass
class EncodedSplit:
    sample_ids: list[int]  # indices into the dataset
    ids: torch.Tensor  # [N, max_len]
    lengths: torch.Tensor  # [N]
    labels: torch.Tensor  # [N]


def encode_split(ckpt: Checkpoint, data: TextDataset, split: str) -> EncodedSplit:
    if ckpt.meta["dataset"] != data.name:
        raise UsageError(f"checkpoint {ckpt.path} was trained on {ckpt.meta['dataset']}, "
                         f"not {data.name}")
    if len(data) <= max((*ckpt.splits.train, *ckpt.splits.val, *ckpt.splits.test)):
        raise UsageError(f"checkpoint {ckpt.path}: its splits do not fit dataset {data.name}")
    index = list(ckpt.splits.get(split))
    ids, lengths = encode(ckpt.tokenizer, [data.texts[i] for i in index],
                          ckpt.model.cfg.max_len)
    return EncodedSplit(index, ids, lengths, torch.tensor([data.labels[i] for i in index]))


@dataclass
class PredictionTable:
    sample_ids: list[int]
    labels: list[int]
    exit_blocks: tuple[int, ...]
    preds: list[list[int]]  # [n_exits][N]
    entropy: list[list[float]]  # [n_exits][N]
    exit_layer: list[int]
    pred_policy: list[int]

    def metrics(self) -> dict[str, float]:
        return accuracy_metrics(self.labels, dict(zip(self.exit_blocks, self.preds, strict=True)),
                                self.pred_policy, self.exit_layer)

    def evidence(self) -> list[tuple[str, str, float]]:
        """Intervals and tests of the accuracy figures (`accuracy_evidence`)."""
        return accuracy_evidence(self.labels,
                                 dict(zip(self.exit_blocks, self.preds, strict=True)),
                                 self.pred_policy)

    def exit_distribution(self) -> dict[int, float]:
        """P(computation stops at block k), over the samples."""
        n = len(self.exit_layer)
        return {k: sum(1 for e in self.exit_layer if e == k) / n for k in self.exit_blocks}

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(prediction_columns(list(self.exit_blocks)))
        for i, sid in enumerate(self.sample_ids):
            row: list = [sid, self.labels[i], self.exit_layer[i], self.pred_policy[i]]
            for k in range(len(self.exit_blocks)):
                row += [self.preds[k][i], f"{self.entropy[k][i]:.6f}"]
            writer.writerow(row)
        return buf.getvalue()

    def write(self, path: Path) -> None:
        atomic_write_text(path, self.to_csv(), what="predictions")


def predict(ckpt: Checkpoint, split: EncodedSplit, policy: ExitPolicy,
            record: ExitRecord | None = None) -> PredictionTable:
    record = record or record_exits(ckpt.model, split.ids, split.lengths)
    outcome = apply_policy(record, policy)
    return PredictionTable(
        sample_ids=split.sample_ids, labels=split.labels.tolist(),
        exit_blocks=record.exit_blocks, preds=record.preds.tolist(),
        entropy=record.entropy.tolist(), exit_layer=outcome.exit_layer.tolist(),
        pred_policy=outcome.pred_policy.tolist(),
    )


def read_predictions(path: Path) -> PredictionTable:
    """Parse a predictions file back (for recomputing its accuracy figures)."""
    try:
        rows = list(csv.DictReader(path.read_text().splitlines()))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    if not rows:
        raise UsageError(f"{path}: no predictions")
    blocks = tuple(int(c[5:]) for c in rows[0] if c.startswith("pred_") and c != "pred_policy")
    try:
        return PredictionTable(
            sample_ids=[int(r["id"]) for r in rows], labels=[int(r["label"]) for r in rows],
            exit_blocks=blocks,
            preds=[[int(r[f"pred_{k}"]) for r in rows] for k in blocks],
            entropy=[[float(r[f"entropy_{k}"]) for r in rows] for k in blocks],
            exit_layer=[int(r["exit_layer"]) for r in rows],
            pred_policy=[int(r["pred_policy"]) for r in rows],
        )
    except (KeyError, ValueError) as exc:
        raise UsageError(f"{path}: malformed predictions ({exc!r})") from None
