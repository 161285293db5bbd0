"""Packed layers: binary linears and embeddings stored as sign bits (64 to a word) and
fp32 per-row scales, run on the packed kernels of a Backend. Activations are handled
by precision:

- 1 bit (beexformer-a1): W1A1 XNOR-popcount kernel, activations packed on the fly;
- 8 or 4 bit (binarybert): integer levels as in training, the W1A32 kernel, then the
  activation scale (integer sums are exact, so this matches the trained model exactly);
- 32 bit (beexformer): W1A32 sign-select accumulate kernel.

The SLFN's gate and candidate layers, which read the same input, run as one packed
matrix (one kernel call instead of two).
"""

from __future__ import annotations

import torch
from torch import nn

from beexbench.models.binarize import BinaryEmbedding, BinaryLinear, activation_levels
from beexbench.models.bitpack import pack_signs
from beexbench.models.transformer import SelectiveLearnForget
from beexbench.runtimes.packed.kernels import Backend


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
