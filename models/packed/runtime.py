"""The packed runtime: a model whose binary layers run on the bit-packed kernels.

`to_packed(model)` swaps every BinaryLinear for a PackedLinear (sign bits packed 64 to
a word, fp32 per-row scale) and every BinaryEmbedding for a PackedEmbedding; the rest
of the model (attention products, LayerNorms, exit heads) is unchanged, so early exits
work exactly as in the fake-quantized model. Activations are handled by precision:

- 1 bit (beexformer-a1): W1A1 XNOR-popcount kernel, activations packed on the fly;
- 8 or 4 bit (binarybert): integer levels as in training, the W1A32 kernel, then the
  activation scale (integer sums are exact, so this matches the trained model exactly);
- 32 bit (beexformer): W1A32 sign-select accumulate kernel.

`load_packed_runtime(path)` builds it from the artifact that the harness measures.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from models.artifact import binary_modules, load_packed
from models.binarize import BinaryEmbedding, BinaryLinear, activation_levels
from models.packed.bitpack import pack_signs, unpack_signs
from models.packed.kernels import Backend, get_backend
from models.transformer import EncoderClassifier


class PackedLinear(nn.Module):
    def __init__(self, layer: BinaryLinear, backend: Backend) -> None:
        super().__init__()
        self.in_features, self.out_features = layer.in_features, layer.out_features
        self.act_bits = layer.act_bits
        self.backend = backend
        self.register_buffer("weight_bits", pack_signs(layer.weight.detach()).contiguous())
        self.register_buffer("alpha", layer.alpha.detach().float().contiguous())
        bias = None if layer.bias is None else layer.bias.detach().float().contiguous()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, self.in_features).float().contiguous()
        if self.act_bits == 1:
            y = self.backend.w1a1(flat, self.weight_bits, self.in_features, self.alpha)
        elif self.act_bits >= 32:
            y = self.backend.w1a32(flat, self.weight_bits, self.in_features, self.alpha)
        else:
            levels, scale = activation_levels(flat, self.act_bits)
            y = self.backend.w1a32(levels.contiguous(), self.weight_bits, self.in_features,
                                   self.alpha) * scale
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, a_bits={self.act_bits}, "
                f"backend={self.backend.name}")


class PackedEmbedding(nn.Module):
    """Rows looked up as packed sign bits, unpacked and scaled only for the ids used."""

    def __init__(self, emb: BinaryEmbedding) -> None:
        super().__init__()
        self.dim = emb.weight.shape[1]
        self.register_buffer("weight_bits", pack_signs(emb.weight.detach()).contiguous())
        self.register_buffer("alpha", emb.alpha.detach().float().contiguous())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = unpack_signs(self.weight_bits[ids], self.dim)
        return self.alpha[ids].unsqueeze(-1) * rows


def to_packed(model: EncoderClassifier, backend: Backend | None = None) -> EncoderClassifier:
    """Swap the binary layers for packed ones, in place; returns the model in eval mode."""
    backend = backend or get_backend()
    for name, module in binary_modules(model).items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        packed = (PackedLinear(module, backend) if isinstance(module, BinaryLinear)
                  else PackedEmbedding(module))
        setattr(parent, child, packed)
    return model.eval()


def load_packed_runtime(path: Path, backend: Backend | None = None) -> EncoderClassifier:
    """The packed runtime of the artifact at `path`."""
    _, model = load_packed(path)
    return to_packed(model, backend)
