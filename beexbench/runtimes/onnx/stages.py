"""A model cut into stages, one per exit: the graphs that the ONNX runtime runs.

Stage k runs the blocks after the previous exit up to exit block k, then exit head k,
so early exit happens between graphs: a model with an exit after every block has one
stage per block, a final-only model a single stage. The first stage also embeds the
tokens and returns the pooling weights and the attention mask that later stages take.

Every stage also returns its exit's normalized entropy and argmax, computed in the graph
as the eager exit head computes them, so the loop between stages decides the exit on
two numbers per row, with no tensor work of its own.

The mask is always computed and passed, even where nothing is padded (where the eager
model passes none, for attention's fast path): a graph has one control-flow path, and
with no masked position the masked softmax computes the same values.
"""

from __future__ import annotations

import torch
from torch import nn

from beexbench.models.exits import normalized_entropy
from beexbench.models.transformer import PAD_ID, EncoderClassifier, pool_weights


def _verdict(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, normalized entropy, argmax) of an exit, as ExitHead.predict gives them."""
    return logits, normalized_entropy(logits), logits.argmax(-1)


def stage_ranges(model: EncoderClassifier) -> list[tuple[int, int]]:
    """(first, last) 1-based block numbers of each stage; `last` is an exit block."""
    ranges, first = [], 1
    for k in model.exit_blocks:
        ranges.append((first, k))
        first = k + 1
    return ranges


class FirstStage(nn.Module):
    """ids [B, T] -> (x, pool, mask, logits, entropy, pred), or (logits, entropy, pred)
    when it is the only stage."""

    def __init__(self, model: EncoderClassifier, last: int, only: bool) -> None:
        super().__init__()
        self.tok_emb, self.pos_emb, self.emb_norm = model.tok_emb, model.pos_emb, model.emb_norm
        self.blocks = nn.ModuleList(model.blocks[:last])
        self.head = model.exit_heads[str(last)]
        self.only = only

    def forward(self, ids: torch.Tensor):
        keep = ids != PAD_ID
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.emb_norm(self.tok_emb(ids) + self.pos_emb(pos))
        pool = pool_weights(keep, x.dtype)
        mask = keep[:, None, None, :]
        for block in self.blocks:
            x = block(x, mask)
        verdict = _verdict(self.head(x, pool))
        return verdict if self.only else (x, pool, mask, *verdict)


class NextStage(nn.Module):
    """(x, pool, mask) -> (x, logits, entropy, pred), or (logits, entropy, pred) for the
    last stage: blocks first..last, then exit head `last`."""

    def __init__(self, model: EncoderClassifier, first: int, last: int, final: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(model.blocks[first - 1:last])
        self.head = model.exit_heads[str(last)]
        self.final = final

    def forward(self, x: torch.Tensor, pool: torch.Tensor, mask: torch.Tensor):
        for block in self.blocks:
            x = block(x, mask)
        verdict = _verdict(self.head(x, pool))
        return verdict if self.final else (x, *verdict)


def stages(model: EncoderClassifier) -> list[nn.Module]:
    """The model's stages, in order, sharing its (eval-mode) weights."""
    model.eval()
    ranges = stage_ranges(model)
    first_last = ranges[0][1]
    out: list[nn.Module] = [FirstStage(model, first_last, only=len(ranges) == 1)]
    out += [NextStage(model, first, last, final=i == len(ranges) - 1)
            for i, (first, last) in enumerate(ranges[1:], start=1)]
    return [s.eval() for s in out]
