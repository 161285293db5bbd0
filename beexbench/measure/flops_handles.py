"""Which traced ops the FLOP counter counts, and how.

The rule: only matmul-like ops carry cost. fvcore's own matmul handles (linear, matmul,
mm, addmm, bmm, einsum, convolution) are kept, and handles are added for the ops it
lacks (scaled dot-product attention, baddbmm). Every handle returns multiply-accumulates
(MACs), as fvcore's do.

Everything else a transformer does is elementwise, a reduction, a lookup or a reshape;
BERT FLOP tables leave these out and so do we. The ops our models are known to emit are
listed in `UNCOUNTED_OPS`, so that a new op that fvcore cannot count shows up in the
report's `unsupported` instead of vanishing silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from math import prod
from typing import Any

with warnings.catch_warnings():
    # fvcore.nn scripts a loss function at import time, which torch now flags as deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fvcore.nn.jit_handles import (
        addmm_flop_jit,
        bmm_flop_jit,
        conv_flop_jit,
        einsum_flop_jit,
        get_shape,
        linear_flop_jit,
        matmul_flop_jit,
    )

Handle = Callable[[list[Any], list[Any]], int]

# Substrings that mark an op name as matmul-like: such an op must never go uncounted.
MATMUL_LIKE_MARKERS: tuple[str, ...] = (
    "mm", "matmul", "linear", "conv", "attention", "einsum", "baddbmm",
)


def is_matmul_like(op: str) -> bool:
    """True for an op name (e.g. `aten::bmm`, `aten::_convolution`) that carries real cost."""
    name = op.lower()
    return any(marker in name for marker in MATMUL_LIKE_MARKERS)


def sdpa_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """MACs of `aten::scaled_dot_product_attention`: Q K^T plus softmax(.) V.

    q [..., T, dh], k [..., S, dh], v [..., S, dv]: T*S*dh + T*S*dv per batch-head, which
    is 2 * B*H*T*T*dh for self-attention. The scaling and softmax are elementwise and,
    like every elementwise op here, uncounted.
    """
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch_heads_t = prod(q[:-1])
    s = k[-2]
    return batch_heads_t * s * q[-1] + batch_heads_t * s * v[-1]


def baddbmm_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """MACs of `aten::baddbmm(input, batch1, batch2)`: the batched product only."""
    b1, b2 = get_shape(inputs[1]), get_shape(inputs[2])
    return b1[0] * b1[1] * b1[2] * b2[2]


COUNTED_HANDLES: dict[str, Handle] = {
    "aten::linear": linear_flop_jit,
    "aten::matmul": matmul_flop_jit,
    "aten::mm": matmul_flop_jit,
    "aten::addmm": addmm_flop_jit,
    "aten::bmm": bmm_flop_jit,
    "aten::baddbmm": baddbmm_flop_jit,
    "aten::einsum": einsum_flop_jit,
    "aten::_convolution": conv_flop_jit,
    "aten::scaled_dot_product_attention": sdpa_flop_jit,
}

# Deliberately uncounted: elementwise arithmetic and activations, normalisation,
# reductions (the exit heads' mean-pool), quantizers and lookups.
UNCOUNTED_OPS: frozenset[str] = frozenset({
    # arithmetic
    "aten::add", "aten::add_", "aten::sub", "aten::rsub", "aten::mul", "aten::mul_",
    "aten::div", "aten::div_", "aten::neg", "aten::abs", "aten::pow", "aten::sqrt",
    "aten::rsqrt", "aten::exp", "aten::log", "aten::reciprocal", "aten::clamp_min",
    "aten::clamp_max", "aten::round", "aten::where", "aten::ne", "aten::lt", "aten::le",
    "aten::all", "aten::any", "aten::logical_not", "aten::masked_fill",
    # the dynamic quantizer's scale, max(-min x, max x): elementwise on two scalars
    "aten::maximum",
    # activations and normalisation
    "aten::gelu", "aten::sigmoid", "aten::tanh", "aten::softmax", "aten::log_softmax",
    "aten::silu", "aten::layer_norm", "aten::batch_norm", "aten::group_norm",
    "aten::instance_norm",
    # reductions (mean-pool in the exit heads, dynamic quantizer scales)
    "aten::sum", "aten::mean", "aten::amax", "aten::amin", "aten::argmax",
    # binarization and fake quantization
    "aten::sign", "prim::PythonOp.ApproxSign", "prim::PythonOp.LevelQuant",
    "prim::PythonOp.FakeQuant", "aten::aminmax",
    # lookups and layout
    "aten::embedding", "aten::stack", "aten::to", "aten::type_as", "aten::unbind",
    "aten::split", "aten::select", "aten::slice", "aten::view", "aten::reshape",
    "aten::transpose", "aten::unsqueeze", "aten::squeeze", "aten::size",
})
