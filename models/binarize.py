"""Binarization and fake-quantization ops.

Forward: sign(x) with sign(0) = +1. Backward: the derivative of sign is an impulse; we
use the derivative of its second-order (piecewise-quadratic) approximation

    F(x) = 2x + x^2  on [-1, 0),   2x - x^2  on [0, 1),   +-1 outside,
    dF/dx = 2 - 2|x|  inside [-1, 1],  0 outside.

A binary weight matrix W (rows = outputs) is used as alpha * sign(W), with a per-row
fp32 scale alpha initialised to mean(|W|) and trained: gradients reach the signs
through F and the magnitude through alpha.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def hard_sign(x: torch.Tensor) -> torch.Tensor:
    """sign with sign(0) = +1, in x's dtype."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class ApproxSign(torch.autograd.Function):
    """sign forward, piecewise-quadratic approximation of the impulse backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return hard_sign(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * (2.0 - 2.0 * x.abs()).clamp_min(0.0)


def approx_sign(x: torch.Tensor) -> torch.Tensor:
    return ApproxSign.apply(x)


class FakeQuant(torch.autograd.Function):
    """Symmetric uniform b-bit quantization with a per-tensor dynamic scale (max |x|).

    Backward is the straight-through estimator, which the clipping never triggers
    because the scale covers the whole range.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, bits: int) -> torch.Tensor:  # type: ignore[override]
        levels = 2 ** (bits - 1) - 1
        scale = x.detach().abs().amax().clamp_min(1e-8) / levels
        return torch.round(x / scale).clamp(-levels, levels) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad, None


def quantize_activation(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Activations entering a linear: fp32 (32), b-bit fake quant (8, 4) or ApproxSign (1)."""
    if bits >= 32:
        return x
    if bits == 1:
        return approx_sign(x)
    return FakeQuant.apply(x, bits)


class BinaryLinear(nn.Module):
    """y = q(x) @ (alpha * sign(W)).T + b, with 1-bit weights and `act_bits` activations."""

    weight_bits = 1

    def __init__(self, in_features: int, out_features: int, act_bits: int = 32,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features, self.act_bits = in_features, out_features, act_bits
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.alpha = nn.Parameter(self.weight.detach().abs().mean(dim=1))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def binary_weight(self) -> torch.Tensor:
        return self.alpha.unsqueeze(1) * approx_sign(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(quantize_activation(x, self.act_bits), self.binary_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, w_bits=1, a_bits={self.act_bits}"


class BinaryEmbedding(nn.Module):
    """Embedding rows alpha_r * sign(E_r): each row (token) has its own fp32 scale."""

    def __init__(self, num_embeddings: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, dim) * 0.02)
        self.alpha = nn.Parameter(self.weight.detach().abs().mean(dim=1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(ids, self.weight)
        return self.alpha[ids].unsqueeze(-1) * approx_sign(rows)
