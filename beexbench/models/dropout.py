"""Dropout with a cheap mask: one 64-bit random draw covers four elements.

torch's CPU dropout draws one Bernoulli sample per element from its mt19937 generator;
that was a fifth of a training step of the `small` preset. Here an element is dropped
when its 16 random bits fall below round(p * 2^16), so the drop probability is p
rounded to a multiple of 2^-16 (0.1 -> 0.100006), and kept elements are scaled by
1 / (1 - that probability), as usual. It draws from torch's global generator, so
`torch.manual_seed` makes it reproducible.
"""

from __future__ import annotations

import torch

_LEVELS = 1 << 16


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """x with each element zeroed with probability ~p and the rest scaled (if training)."""
    if not training or p <= 0.0:
        return x
    if p >= 1.0:
        return torch.zeros_like(x)
    threshold = round(p * _LEVELS)
    n = x.numel()
    words = torch.randint(-(2 ** 63), 2 ** 63 - 1, ((n + 3) // 4,), dtype=torch.int64,
                          device=x.device)
    bits = words.view(torch.int16)[:n].view(x.shape)  # uniform over [-2^15, 2^15)
    keep = bits >= threshold - _LEVELS // 2
    scale = _LEVELS / (_LEVELS - threshold)
    return x * keep.to(x.dtype).mul_(scale)
