"""The native engine's view of a model: its embedding step, blocks, exit heads and
early-exit inference, each one call into the native build (block.cpp, model.cpp).

Each call runs the same ATen operations and packed kernels, in the same order, as the
Python modules it replaces, so results are bit-identical to the module path; the
built-in exit policies are decided in C++ as beexbench/models/exits.py decides them. At d=128 the
Python and nn.Module overhead between operations took longer than the packed products.
fp32 models (nothing to pack) run on the same engine, with dense linears, so that a
packed/fp32 latency ratio measures the model and not the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from beexbench.models.exits import ExitPolicy
from beexbench.models.transformer import (
    PAD_ID,
    Block,
    EncoderClassifier,
    ExitHead,
    FeedForward,
    InferenceOutput,
)
from beexbench.runtimes.packed.layers import (
    PackedEmbedding,
    PackedLinear,
    PackedSelectiveLearnForget,
)


def _native_linear(engine: Any, layer: nn.Module) -> Any:
    if isinstance(layer, PackedLinear):
        return engine.Linear.packed(layer.weight_bits, layer.in_features, layer.alpha,
                                    layer.bias, layer.act_bits)
    if isinstance(layer, nn.Linear):
        return engine.Linear.dense(layer.weight.detach(),
                                   None if layer.bias is None else layer.bias.detach())
    raise TypeError(f"no native engine for linear layer {type(layer).__name__}")


def _native_norm(engine: Any, norm: nn.LayerNorm) -> Any:
    return engine.LayerNorm(norm.weight.detach(), norm.bias.detach(), norm.eps)


def _native_table(engine: Any, table: nn.Module) -> Any:
    if isinstance(table, PackedEmbedding):
        return engine.EmbeddingTable.packed(table.weight_bits, table.dim, table.alpha)
    if isinstance(table, nn.Embedding):
        return engine.EmbeddingTable.dense(table.weight.detach())
    raise TypeError(f"no native engine for embedding {type(table).__name__}")


class NativeEmbed:
    """EncoderClassifier.embed in eval mode, in one call (bit-identical results).

    Not an nn.Module: it is set as the model's `embed` attribute, which then takes the
    place of the method, and its tensors stay registered where they were."""

    def __init__(self, model: EncoderClassifier, engine: Any) -> None:
        self.engine = engine.Embed(_native_table(engine, model.tok_emb),
                                   _native_table(engine, model.pos_emb),
                                   _native_norm(engine, model.emb_norm), PAD_ID)

    def __call__(self, ids: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return self.engine.forward(ids)


def sublayer_parts(sub: nn.Module) -> tuple[str, nn.Module, nn.Module] | None:
    """The engine's view of a sub-layer: kind, input linear, output linear (None: no
    engine for it, e.g. an fp32 SLFN, whose gate and candidate are separate matrices)."""
    if isinstance(sub, PackedSelectiveLearnForget):
        return "slfn", sub.gate_candidate, sub.out
    if isinstance(sub, FeedForward):
        return "ffn", sub.up, sub.down
    return None


# Attention precisions block.cpp implements: fp32 SDPA, and 2..8-bit fake quantization
# (1 bit would be a sign of the probabilities, which no registered model uses).
NATIVE_ATTENTION_BITS = frozenset({2, 3, 4, 5, 6, 7, 8, 32})


def has_native_engine(block: Block) -> bool:
    """Whether block.cpp implements this block's sub-layer and attention precision."""
    return (sublayer_parts(block.sublayer) is not None
            and block.attn.products.bits in NATIVE_ATTENTION_BITS)


class NativeBlock(nn.Module):
    """A Block run by the native engine in one call: the same operations in the same
    order (bit-identical results), without a Python step between them."""

    def __init__(self, block: Block, engine: Any) -> None:
        super().__init__()
        self.block = block  # the block whose tensors the engine reads
        parts = sublayer_parts(block.sublayer)
        if parts is None or block.attn.products.bits not in NATIVE_ATTENTION_BITS:
            raise TypeError(f"no native engine for sub-layer {type(block.sublayer).__name__} "
                            f"with {block.attn.products.bits}-bit attention")
        kind, sub_in, sub_out = parts
        self.engine = engine.Block(
            _native_linear(engine, block.attn.qkv), _native_linear(engine, block.attn.out),
            block.attn.heads, block.attn.products.bits, _native_norm(engine, block.norm1),
            kind, _native_linear(engine, sub_in), _native_linear(engine, sub_out),
            _native_norm(engine, block.norm2))

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        return self.engine.forward(x, attn_mask)


class NativeExitHead(nn.Module):
    """An ExitHead run by the native engine in one call (bit-identical results)."""

    def __init__(self, head: ExitHead, engine: Any) -> None:
        super().__init__()
        self.head = head
        self.engine = engine.ExitHead(_native_norm(engine, head.norm),
                                      _native_linear(engine, head.classify))

    def forward(self, x: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        return self.engine.forward(x, pool)

    def predict(self, x: torch.Tensor, pool: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ExitHead.predict in one call."""
        return self.engine.predict(x, pool)


NATIVE_POLICIES = ("final", "beex-entropy-drop", "deebert-entropy", "pabee-patience",
                   "fixed-depth")


class NativeInfer:
    """EncoderClassifier.infer in one call, for the built-in exit policies (model.cpp
    decides them as beexbench/models/exits.py does); any other policy runs the Python loop.

    Set as the model's `infer` attribute, like NativeEmbed."""

    def __init__(self, model: EncoderClassifier, engine: Any) -> None:
        self.engine, self.model = engine, model
        self.native = engine.EarlyExitModel(
            model.embed.engine, [block.engine for block in model.blocks],
            list(model.exit_blocks), [model.exit_heads[str(k)].engine for k in model.exit_blocks])

    @staticmethod
    def decides(policy: ExitPolicy) -> bool:
        """Whether the engine decides this policy itself (else the Python loop runs)."""
        return policy.name in NATIVE_POLICIES

    def lean(self, policy: ExitPolicy) -> tuple[Callable[[torch.Tensor], torch.Tensor],
                                                Callable[[torch.Tensor], InferenceOutput]]:
        """(prepare, query) for the latency loop: the exit rule built once, not per query."""
        if not self.decides(policy):
            return (lambda ids: ids), (lambda ids: EncoderClassifier.infer(self.model, ids,
                                                                           policy))
        infer, rule = self.native.infer, self.engine.ExitRule(policy.name, policy.param)
        return (lambda ids: ids), (lambda ids: infer(ids, rule))

    def __call__(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput:
        if not self.decides(policy):
            return EncoderClassifier.infer(self.model, ids, policy)
        logits, exit_layer, used_exit = self.native.infer(
            ids, self.engine.ExitRule(policy.name, policy.param))
        return InferenceOutput(logits, exit_layer, used_exit)


def run_on_engine(model: EncoderClassifier, engine: Any) -> EncoderClassifier:
    """Hand the model's embedding step, blocks, exit heads and inference loop to the
    engine, in place, wherever it has an implementation for them."""
    model.embed = NativeEmbed(model, engine)  # type: ignore[method-assign]
    for i, block in enumerate(model.blocks):
        if has_native_engine(block):
            model.blocks[i] = NativeBlock(block, engine)
    for key, head in model.exit_heads.items():
        model.exit_heads[key] = NativeExitHead(head, engine)
    if all(isinstance(block, NativeBlock) for block in model.blocks):
        model.infer = NativeInfer(model, engine)  # type: ignore[method-assign]
        model.lean = model.infer.lean  # the latency loop's form (bench.runtimes.single_query)
    return model
