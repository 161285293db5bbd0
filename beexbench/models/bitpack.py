"""Sign-bit packing of binary weights: the layout the packed artifact stores.

Layout. A tensor ``w`` of shape ``[..., n]`` packs to an ``int64`` tensor of shape
``[..., words]`` with ``words = ceil(n / 64)``: every row of the last dimension is
packed on its own, in row-major order.

- Bit ``j`` of a row (0-based) lives in word ``j // 64`` at bit position ``j % 64``,
  little-endian within the word (position 0 is the least significant bit).
- A bit is 1 where ``w >= 0`` (sign +1; ``sign(0) = +1``, and ``-0.0`` too) and 0
  where ``w < 0`` (sign -1). NaN packs as 0.
- The words are plain two's-complement ``int64`` (torch has no usable ``uint64`` on
  CPU), so a word with bit 63 set is negative; only its bit pattern matters.
- A row is padded to whole words with 0 bits. The kernels never read padding as
  data: the 1-bit activation path masks the last word to the ``n`` valid bits
  and the fp32 activation path pads activations with zeros, so whatever the
  padding holds cannot change a result.

A 1-D tensor is the case ``[n] -> [words]``. The per-row fp32 scale (alpha) is
stored next to the packed words, not in them.
"""

from __future__ import annotations

import torch

from beexbench.core.errors import UsageError

WORD_BITS = 64


def words_for(n: int) -> int:
    """Number of 64-bit words holding ``n`` sign bits."""
    return (n + WORD_BITS - 1) // WORD_BITS


def _positions(device: torch.device) -> torch.Tensor:
    return torch.arange(WORD_BITS, dtype=torch.int64, device=device)


def pack_signs(w: torch.Tensor) -> torch.Tensor:
    """Pack the signs of ``w`` (``[..., n]``, floating point) into ``int64 [..., ceil(n/64)]``."""
    if not w.is_floating_point():
        raise UsageError(f"pack_signs expects a floating-point tensor, got {w.dtype}")
    if w.dim() == 0 or w.shape[-1] == 0:
        raise UsageError(f"pack_signs expects a non-empty last dimension, got {tuple(w.shape)}")
    n = w.shape[-1]
    words = words_for(n)
    bits = (w >= 0).to(torch.int64)
    pad = words * WORD_BITS - n
    if pad:
        bits = torch.nn.functional.pad(bits, (0, pad))
    bits = bits.reshape(*w.shape[:-1], words, WORD_BITS)
    # Distinct powers of two never carry, so the (wrapping) int64 sum is a bitwise OR.
    return (bits << _positions(w.device)).sum(dim=-1)


def unpack_signs(packed: torch.Tensor, n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Inverse of :func:`pack_signs`: ``int64 [..., words]`` to ``+-1`` values ``[..., n]``."""
    if packed.dtype != torch.int64:
        raise UsageError(f"unpack_signs expects int64 words, got {packed.dtype}")
    if packed.dim() == 0:
        raise UsageError("unpack_signs expects at least one dimension of words")
    if n <= 0 or words_for(n) != packed.shape[-1]:
        raise UsageError(
            f"unpack_signs: n={n} needs {words_for(max(n, 1))} words per row, "
            f"got {packed.shape[-1]}"
        )
    # Arithmetic right shift smears bit 63, but `& 1` keeps only the bit asked for.
    bits = (packed.unsqueeze(-1) >> _positions(packed.device)) & 1
    bits = bits.reshape(*packed.shape[:-1], packed.shape[-1] * WORD_BITS)[..., :n]
    return bits.to(dtype) * 2 - 1
