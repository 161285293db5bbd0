"""Attention products: softmax(Q K^T / sqrt(dh)) V over heads, at a given precision.

At 32 bits this is scaled dot-product attention in fp32. Below 32 bits (BinaryBERT's
setting, after TernaryBERT) Q, K, V and the attention probabilities are each
fake-quantized to `bits` bits with one dynamic per-tensor scale (the quantizer of the
activations entering the binary linears, beexbench.models.binarize.quantize_activation), so both
products multiply b-bit operands; the op counter weighs them as such through
`operand_bits`. The probabilities are non-negative, so a symmetric quantizer spends
its sign bit on nothing; we keep the one quantizer rather than add an unsigned one.

The quantized path spells attention out as matmul, scale, softmax, matmul: the packed
runtime's native engine (beexbench/runtimes/packed/block.cpp) runs the same ATen operations in the
same order, so both give bit-identical results.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from beexbench.models.binarize import quantize_activation
from beexbench.models.dropout import dropout

FULL_PRECISION_BITS = 32


class AttentionProducts(nn.Module):
    """q, k, v [B, H, T, dh] -> softmax(q k^T / sqrt(dh)) v, with `bits`-bit operands."""

    def __init__(self, bits: int, dropout: float) -> None:
        super().__init__()
        if not 1 <= bits <= FULL_PRECISION_BITS:
            raise ValueError(f"attention bits must be 1..32, got {bits}")
        self.bits, self.dropout = bits, dropout

    @property
    def operand_bits(self) -> tuple[int, int]:
        """Bits of the two operands of each product (Q and K; probabilities and V)."""
        return self.bits, self.bits

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                attn_mask: torch.Tensor | None) -> torch.Tensor:
        quantized = self.bits < FULL_PRECISION_BITS
        drop = self.training and self.dropout > 0.0
        if not quantized and not drop:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        if quantized:
            q, k, v = (quantize_activation(t, self.bits) for t in (q, k, v))
        # Spelt out: SDPA's own dropout draws a Bernoulli per element (slow on the CPU),
        # and quantized probabilities must be materialised between the two products.
        scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        probs = scores.softmax(-1)
        if quantized:
            probs = quantize_activation(probs, self.bits)
        return dropout(probs, self.dropout, self.training) @ v

    def extra_repr(self) -> str:
        return f"bits={self.bits}"
