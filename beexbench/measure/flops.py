"""Per-exit MACs, FLOPs and BOPs of a model, and their expectation under an exit policy.

Convention: **1 MAC = 2 FLOPs**. fvcore's "flop" is a multiply-accumulate, so its totals
are MACs; `flops` is always `2 * macs`.

Counting rule: only matmul-like ops are counted (linear, matmul, mm, addmm, bmm, baddbmm,
einsum, convolution and scaled dot-product attention, whose Q K^T and A V products give
2 * B*H*T*T*dh MACs). Elementwise ops, activations, LayerNorm, softmax, the exit heads'
mean-pool, the binarizers and quantizers and embedding lookups are deliberately
uncounted, as in BERT FLOP tables; `beexbench.measure.flops_handles.UNCOUNTED_OPS` lists
them. Any other op fvcore cannot count is reported in `FlopReport.unsupported`.

Precision, as the binary-network literature counts it (XNOR-Net, Bi-Real Net, and the
tables of BinaryBERT and BiBERT): the products of a module whose operands have b_1 and
b_2 bits (`operand_bits`, below 32 for at least one of them) are moved from MACs to
BOPs = 2 * MACs * b_1 * b_2, and `ops = flops + bops / 64`. So one MAC costs 2 ops in
fp32, b_1 * b_2 / 32 ops quantized: 1/32 for W1A1, 8/32 for W1A8, 1 for W1A32 (binary
weights select the sign of an fp32 activation: one fp32 add). The modules that declare
`operand_bits` are the binary linears (weights, activations) and the attention products
(Q and K; probabilities and V), which BinaryBERT quantizes to b_a bits. Everything else
(fp32 linears and attention, the exit heads' classifiers) stays in MACs.

Figures are per sample at one sequence length (the preset's max length, no padding),
with the exit forced at depth k: the trace runs the first k blocks and every exit head
up to k, since an early-exit model computes all of them before it stops at k.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

with warnings.catch_warnings():
    # fvcore.nn scripts a loss function at import time, which torch now flags as deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fvcore.nn import FlopCountAnalysis

from beexbench.measure import catalog as M
from beexbench.measure.flops_handles import COUNTED_HANDLES, UNCOUNTED_OPS
from beexbench.models.transformer import EncoderClassifier

FULL_PRECISION_BITS = 32
# A quantized MAC is 2 * b_1 * b_2 BOPs, and 64 BOPs make one op (the literature's rule).
BOPS_PER_BIT_PRODUCT = 2
BOPS_PER_OP = 64


@dataclass(frozen=True)
class OpCounts:
    """Operation counts of one forward pass of one sample."""

    macs: int  # full-precision multiply-accumulates
    flops: int  # 2 * macs
    bops: int  # binary ops: 2 * MACs * b_1 * b_2 of the quantized products

    @property
    def ops(self) -> float:
        """The headline compute figure: FLOPs + BOPs / 64."""
        return self.flops + self.bops / BOPS_PER_OP


def bops_of(macs: int, bits: tuple[int, int]) -> int:
    """BOPs of `macs` multiply-accumulates with operands of `bits` = (b_1, b_2) bits."""
    return BOPS_PER_BIT_PRODUCT * macs * bits[0] * bits[1]


def ops_per_mac(bits: tuple[int, int]) -> float:
    """What one MAC weighs in `ops`: 2 in full precision, 2 * b_1 * b_2 / 64 quantized."""
    if min(bits) >= FULL_PRECISION_BITS:
        return 2.0
    return bops_of(1, bits) / BOPS_PER_OP


@dataclass
class FlopReport:
    per_exit: dict[int, OpCounts]  # exit block (1-based) -> counts when exiting there
    unsupported: dict[str, int]  # op -> occurrences fvcore could not count (not ignored by us)
    seq_len: int


class _ForcedExit(nn.Module):
    """Runs the wrapped model up to a fixed depth, so the trace takes one exit's path."""

    def __init__(self, model: EncoderClassifier, depth: int) -> None:
        super().__init__()
        self.model, self.depth = model, depth

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids, depth=self.depth)


def _precision(module: nn.Module) -> tuple[int, int] | None:
    """Bits of the two operands of a quantized module's products; None for anything else."""
    bits = getattr(module, "operand_bits", None)
    if not (isinstance(bits, tuple) and len(bits) == 2
            and all(isinstance(b, int) for b in bits)):
        return None
    if min(bits) >= FULL_PRECISION_BITS:
        return None
    return bits


def _quantized_modules(root: nn.Module) -> dict[str, tuple[int, int]]:
    """Outermost quantized modules by name; a nested one would be counted twice."""
    found: dict[str, tuple[int, int]] = {}
    for name, module in root.named_modules():
        if any(name.startswith(f"{outer}.") for outer in found):
            continue
        bits = _precision(module)
        if bits is not None:
            found[name] = bits
    return found


def _analysis(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> FlopCountAnalysis:
    analysis = FlopCountAnalysis(module, inputs)
    # Start from no handles: fvcore's defaults also count LayerNorm, which our rule leaves out.
    analysis.clear_op_handles()
    analysis.set_op_handle(**COUNTED_HANDLES)
    analysis.set_op_handle(**dict.fromkeys(UNCOUNTED_OPS))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis


def _count_at_depth(model: EncoderClassifier, ids: torch.Tensor,
                    depth: int) -> tuple[OpCounts, Counter[str]]:
    wrapper = _ForcedExit(model, depth)
    analysis = _analysis(wrapper, (ids,))
    # fvcore logs through `logging` as well as `warnings`; the report collects instead.
    fv_logger = logging.getLogger("fvcore")
    level = fv_logger.level
    fv_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            total = int(analysis.total())
            by_module = analysis.by_module_and_operator()
            # fvcore matches its ignore list against the bare kind `prim::PythonOp`, never
            # `prim::PythonOp.<Name>`, so the custom autograd ops are dropped here instead.
            unsupported = Counter({op: n for op, n in analysis.unsupported_ops().items()
                                   if op not in UNCOUNTED_OPS})
    finally:
        fv_logger.setLevel(level)

    quantized_macs = 0
    bops = 0
    for name, bits in _quantized_modules(wrapper).items():
        macs = int(sum(by_module.get(name, Counter()).values()))
        quantized_macs += macs
        bops += bops_of(macs, bits)
    fp_macs = total - quantized_macs
    return OpCounts(macs=fp_macs, flops=2 * fp_macs, bops=bops), unsupported


def count_ops(model: EncoderClassifier, seq_len: int) -> FlopReport:
    """Per-exit counts of one sample of `seq_len` tokens (no padding), exit forced at each k."""
    if not 1 <= seq_len <= model.cfg.max_len:
        raise ValueError(f"seq_len {seq_len} outside 1..{model.cfg.max_len}")
    # Token ids 1.. avoid the pad id 0, so the attention takes the unmasked path.
    ids = (torch.arange(seq_len) % (model.cfg.vocab_size - 1) + 1).unsqueeze(0)
    ids = ids.to(next(model.parameters()).device)
    was_training = model.training
    model.eval()
    per_exit: dict[int, OpCounts] = {}
    unsupported: Counter[str] = Counter()
    try:
        with torch.no_grad():
            for k in model.exit_blocks:
                per_exit[k], missed = _count_at_depth(model, ids, k)
                # A deeper trace repeats a shallower one: keep the largest count per op.
                unsupported |= missed
    finally:
        model.train(was_training)
    return FlopReport(per_exit=per_exit, unsupported=dict(unsupported), seq_len=seq_len)


def expected_counts(per_exit: dict[int, OpCounts],
                    exit_distribution: dict[int, float]) -> dict[str, float]:
    """`sum_k P(exit at k) * figure at k` for macs, flops, bops and ops.

    `exit_distribution` maps exit blocks to probabilities; they must sum to 1 and name
    only exits in `per_exit`.
    """
    unknown = set(exit_distribution) - set(per_exit)
    if unknown:
        raise ValueError(f"exit distribution names unknown exits {sorted(unknown)}")
    if any(p < 0 for p in exit_distribution.values()):
        raise ValueError("exit probabilities must be non-negative")
    total = sum(exit_distribution.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"exit probabilities sum to {total}, not 1")
    out = {M.MACS_EXPECTED.name: 0.0, M.FLOPS_EXPECTED.name: 0.0, M.BOPS_EXPECTED.name: 0.0,
           M.OPS_EXPECTED.name: 0.0}
    for k, p in exit_distribution.items():
        c = per_exit[k]
        out[M.MACS_EXPECTED.name] += p * c.macs
        out[M.FLOPS_EXPECTED.name] += p * c.flops
        out[M.BOPS_EXPECTED.name] += p * c.bops
        out[M.OPS_EXPECTED.name] += p * c.ops
    return out
