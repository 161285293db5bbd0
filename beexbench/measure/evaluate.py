"""Run a trained model over a split: every exit's prediction and entropy, then the policy."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from beexbench.models.exits import ExitPolicy, normalized_entropy, simulate
from beexbench.models.transformer import EncoderClassifier


@dataclass
class ExitRecord:
    """Per-exit predictions and entropies for N samples, with the model's exit blocks."""

    exit_blocks: tuple[int, ...]
    preds: torch.Tensor  # [n_exits, N]
    entropy: torch.Tensor  # [n_exits, N]

    def to_cpu(self) -> ExitRecord:
        return ExitRecord(self.exit_blocks, self.preds.cpu(), self.entropy.cpu())


@torch.no_grad()
def record_exits(model: EncoderClassifier, ids: torch.Tensor, lengths: torch.Tensor,
                 batch_size: int = 256) -> ExitRecord:
    """Analysis mode: all exits for every sample (batches trimmed to their longest row)."""
    model.eval()
    preds, ents = [], []
    for start in range(0, ids.shape[0], batch_size):
        chunk = ids[start:start + batch_size]
        width = int(lengths[start:start + batch_size].max())
        logits = model(chunk[:, :width])
        preds.append(logits.argmax(-1))
        ents.append(normalized_entropy(logits))
    return ExitRecord(model.exit_blocks, torch.cat(preds, 1), torch.cat(ents, 1))


@dataclass
class PolicyRecord:
    exit_layer: torch.Tensor  # [N] 1-based block where computation stopped
    pred_policy: torch.Tensor  # [N]


def apply_policy(record: ExitRecord, policy: ExitPolicy) -> PolicyRecord:
    outcome = simulate(policy, record.entropy, record.preds)
    blocks = torch.tensor(record.exit_blocks)
    pred = record.preds.gather(0, outcome.use_index.unsqueeze(0)).squeeze(0)
    return PolicyRecord(blocks[outcome.stop_index], pred)
