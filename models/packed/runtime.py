"""The packed runtime: a model whose binary layers run on the bit-packed kernels.

`to_packed(model)` swaps every BinaryLinear for a PackedLinear (sign bits packed 64 to
a word, fp32 per-row scale) and every BinaryEmbedding for a PackedEmbedding; the rest
of the model (attention products, LayerNorms, exit heads) is unchanged, so early exits
work exactly as in the fake-quantized model. Activations are handled by precision:

- 1 bit (beexformer-a1): W1A1 XNOR-popcount kernel, activations packed on the fly;
- 8 or 4 bit (binarybert): integer levels as in training, the W1A32 kernel, then the
  activation scale (integer sums are exact, so this matches the trained model exactly);
- 32 bit (beexformer): W1A32 sign-select accumulate kernel.

The SLFN's gate and candidate layers, which read the same input, run as one packed
matrix (one kernel call instead of two).

With the native backend the embedding step, each Block and each ExitHead then run as
NativeEmbed / NativeBlock / NativeExitHead: one call each into the native engine
(block.cpp), which runs the same ATen operations and packed kernels in the same order,
bit-identical to the module path. At d=128 the Python and nn.Module overhead between
operations took longer than the packed products themselves. fp32 models (nothing to
pack) run on the same engine, with dense linears, so that a packed/fp32 latency ratio
measures the model and not the engine. Early-exit inference itself (the loop over
blocks, the built-in exit policies, samples leaving the batch) then runs in one call
too (NativeInfer, model.cpp), with the same exits and logits as the Python loop.

`load_packed_runtime(path)` builds it from the artifact that the harness measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.artifact import binary_modules, load_packed
from models.binarize import BinaryEmbedding, BinaryLinear, activation_levels
from models.exits import ExitPolicy
from models.packed.bitpack import pack_signs
from models.packed.kernels import Backend, get_backend
from models.transformer import (
    PAD_ID,
    Block,
    EncoderClassifier,
    ExitHead,
    FeedForward,
    InferenceOutput,
    SelectiveLearnForget,
)


class PackedLinear(nn.Module):
    def __init__(self, weight: torch.Tensor, alpha: torch.Tensor, bias: torch.Tensor | None,
                 act_bits: int, backend: Backend) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.act_bits, self.backend = act_bits, backend
        self.register_buffer("weight_bits", pack_signs(weight.detach()).contiguous())
        self.register_buffer("alpha", alpha.detach().float().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().float().contiguous())

    @classmethod
    def of(cls, *layers: BinaryLinear, backend: Backend) -> PackedLinear:
        """One packed layer for `layers` that read the same input: their outputs side by side."""
        if len({(layer.in_features, layer.act_bits) for layer in layers}) != 1:
            raise ValueError("stacked layers must share input size and activation bits")
        biases = [layer.bias for layer in layers]
        if len({b is None for b in biases}) != 1:
            raise ValueError("stacked layers must all have a bias or all have none")
        bias = None if biases[0] is None else torch.cat(biases)
        return cls(torch.cat([layer.weight for layer in layers]),
                   torch.cat([layer.alpha for layer in layers]), bias, layers[0].act_bits,
                   backend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, self.in_features).float().contiguous()
        if self.act_bits == 1:
            y = self.backend.w1a1(flat, self.weight_bits, self.in_features, self.alpha,
                                  self.bias)
        elif self.act_bits >= 32:
            y = self.backend.w1a32(flat, self.weight_bits, self.in_features, self.alpha,
                                   self.bias)
        else:
            # The activation scale multiplies before the bias adds, as in BinaryLinear.
            levels, scale = activation_levels(flat, self.act_bits)
            y = self.backend.w1a32(levels.contiguous(), self.weight_bits, self.in_features,
                                   self.alpha).mul_(scale)
            if self.bias is not None:
                y += self.bias
        return y.view(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, a_bits={self.act_bits}, "
                f"backend={self.backend.name}")


class PackedSelectiveLearnForget(nn.Module):
    """SLFN with gate and candidate packed as one matrix: the input is read (and, for
    1-bit activations, binarized and packed) once for both. Same values as the SLFN:
    both layers see the same input, hence the same activation scale."""

    def __init__(self, slfn: SelectiveLearnForget, backend: Backend) -> None:
        super().__init__()
        self.hidden = slfn.gate.out_features
        self.gate_candidate = PackedLinear.of(slfn.gate, slfn.candidate, backend=backend)
        self.out = PackedLinear.of(slfn.out, backend=backend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, candidate = self.gate_candidate(x).split(self.hidden, dim=-1)
        return self.out(torch.sigmoid(gate) * torch.tanh(candidate))


class PackedEmbedding(nn.Module):
    """Rows looked up as packed sign bits, unpacked and scaled only for the ids used."""

    def __init__(self, emb: BinaryEmbedding, backend: Backend) -> None:
        super().__init__()
        self.dim, self.backend = emb.weight.shape[1], backend
        self.register_buffer("weight_bits", pack_signs(emb.weight.detach()).contiguous())
        self.register_buffer("alpha", emb.alpha.detach().float().contiguous())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.backend.embedding(self.weight_bits, self.dim, self.alpha,
                                      ids.reshape(-1).contiguous())
        return rows.view(*ids.shape, self.dim)


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


class NativeBlock(nn.Module):
    """A Block run by the native engine in one call: the same operations in the same
    order (bit-identical results), without a Python step between them."""

    def __init__(self, block: Block, engine: Any) -> None:
        super().__init__()
        self.block = block  # the block whose tensors the engine reads
        parts = sublayer_parts(block.sublayer)
        if parts is None:
            raise TypeError(f"no native engine for sub-layer {type(block.sublayer).__name__}")
        kind, sub_in, sub_out = parts
        self.engine = engine.Block(
            _native_linear(engine, block.attn.qkv), _native_linear(engine, block.attn.out),
            block.attn.heads, _native_norm(engine, block.norm1), kind,
            _native_linear(engine, sub_in), _native_linear(engine, sub_out),
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


NATIVE_POLICIES = ("final", "beex-entropy-drop", "deebert-entropy", "pabee-patience")


class NativeInfer:
    """EncoderClassifier.infer in one call, for the built-in exit policies (model.cpp
    decides them as models/exits.py does); any other policy runs the Python loop.

    Set as the model's `infer` attribute, like NativeEmbed."""

    def __init__(self, model: EncoderClassifier, engine: Any) -> None:
        self.engine, self.model = engine, model
        self.native = engine.EarlyExitModel(
            model.embed.engine, [block.engine for block in model.blocks],
            list(model.exit_blocks), [model.exit_heads[str(k)].engine for k in model.exit_blocks])

    def __call__(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput:
        if policy.name not in NATIVE_POLICIES:
            return EncoderClassifier.infer(self.model, ids, policy)
        logits, exit_layer, used_exit = self.native.infer(
            ids, self.engine.ExitRule(policy.name, policy.param))
        return InferenceOutput(logits, exit_layer, used_exit)


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def to_packed(model: EncoderClassifier, backend: Backend | None = None) -> EncoderClassifier:
    """Swap the binary layers for packed ones, in place; returns the model in eval mode."""
    backend = backend or get_backend()
    slfns = {name: m for name, m in model.named_modules()
             if isinstance(m, SelectiveLearnForget) and isinstance(m.gate, BinaryLinear)}
    for name, slfn in slfns.items():
        _replace(model, name, PackedSelectiveLearnForget(slfn, backend))
    for name, module in binary_modules(model).items():
        _replace(model, name, PackedLinear.of(module, backend=backend)
                 if isinstance(module, BinaryLinear) else PackedEmbedding(module, backend))
    if backend.engine is not None:
        model.embed = NativeEmbed(model, backend.engine)  # type: ignore[method-assign]
        for i, block in enumerate(model.blocks):
            if sublayer_parts(block.sublayer) is not None:
                model.blocks[i] = NativeBlock(block, backend.engine)
        for key, head in model.exit_heads.items():
            model.exit_heads[key] = NativeExitHead(head, backend.engine)
        if all(isinstance(block, NativeBlock) for block in model.blocks):
            model.infer = NativeInfer(model, backend.engine)  # type: ignore[method-assign]
    return model.eval()


def load_packed_runtime(path: Path, backend: Backend | None = None) -> EncoderClassifier:
    """The packed runtime of the artifact at `path`."""
    _, model = load_packed(path)
    return to_packed(model, backend)
