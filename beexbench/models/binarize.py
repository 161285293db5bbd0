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


class LevelQuant(torch.autograd.Function):
    """Integer levels round(x / scale) clipped to +-(2^(b-1) - 1), with a straight-through
    gradient (1 / scale, undone when the caller multiplies by scale again)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, levels: int) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(scale)
        return torch.round(x / scale).clamp(-levels, levels)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (scale,) = ctx.saved_tensors
        return grad / scale, None, None


class FakeQuant(torch.autograd.Function):
    """round(x / scale) clipped to +-levels, times scale, in one pass each way: the same
    values as LevelQuant's levels times scale, with the straight-through gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, levels: int) -> torch.Tensor:  # type: ignore[override]
        return torch.round(x / scale).clamp_(-levels, levels).mul_(scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        return grad, None, None


def _levels_and_scale(x: torch.Tensor, bits: int) -> tuple[int, torch.Tensor]:
    """Largest level 2^(b-1) - 1 and the dynamic scale max|x| / that level (aminmax
    reads x once; abs().amax() would read it twice)."""
    levels = 2 ** (bits - 1) - 1
    low, high = torch.aminmax(x.detach())
    return levels, (torch.maximum(-low, high).clamp_min(1e-8) / levels).to(x.dtype)


def activation_levels(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations as integer-valued levels and one per-tensor scale: x ~ levels * scale.

    1 bit: ApproxSign (levels +-1, scale 1). 8 or 4 bits: symmetric uniform levels with a
    dynamic scale max|x| / (2^(b-1) - 1). Integer levels make every dot product with
    +-1 weights an exact integer in fp32, whatever the summation order, so the packed
    kernels reproduce these numbers exactly.
    """
    if bits == 1:
        return approx_sign(x), torch.ones((), dtype=x.dtype, device=x.device)
    levels, scale = _levels_and_scale(x, bits)
    return LevelQuant.apply(x, scale, levels), scale


def quantize_activation(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Activations entering a linear: fp32 (32), b-bit fake quant (8, 4) or ApproxSign (1)."""
    if bits >= 32:
        return x
    if bits == 1:
        return approx_sign(x)
    levels, scale = _levels_and_scale(x, bits)
    return FakeQuant.apply(x, scale, levels)


class BinaryLinear(nn.Module):
    """y = q(x) @ (alpha * sign(W)).T + b, with 1-bit weights and `act_bits` activations.

    In eval mode with quantized activations it is computed as
    ((levels @ sign(W).T) * alpha) * scale: the same value, in the order the packed
    kernels compute it. Training takes the one-matmul form, which has the same gradients
    and saves three full-size elementwise passes each way.
    """

    weight_bits = 1

    def __init__(self, in_features: int, out_features: int, act_bits: int = 32,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features, self.act_bits = in_features, out_features, act_bits
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.alpha = nn.Parameter(self.weight.detach().abs().mean(dim=1))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @property
    def operand_bits(self) -> tuple[int, int]:
        """Bits of the product's operands (weights, activations), for the op counter."""
        return self.weight_bits, self.act_bits

    def binary_weight(self) -> torch.Tensor:
        return self.alpha.unsqueeze(1) * approx_sign(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.act_bits >= 32:
            return F.linear(quantize_activation(x, self.act_bits), self.binary_weight(), self.bias)
        levels, scale = activation_levels(x, self.act_bits)
        y = F.linear(levels, approx_sign(self.weight)) * self.alpha
        if self.act_bits != 1:
            y = y * scale
        return y if self.bias is None else y + self.bias

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
