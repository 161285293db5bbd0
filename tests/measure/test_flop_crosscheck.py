"""Our fvcore op counts cross-checked against torch's own counter, FlopCounterMode.

fvcore traces the model through torch.jit, which is deprecated: if the tracer changes,
our counts could move without any closed form in test_flops.py being consulted by the
code that produces them. FlopCounterMode counts at the dispatcher instead (no tracing),
so the two counters share nothing but the model.

What is compared, for every registered model built as `count` builds it (the tiny
preset's shape through `preset_shape`, seed 0), at the tiny preset's length, for every
exit k (the forward `count_ops` traces: batch 1, token ids 1..T, eval mode, no grad,
`model(ids, depth=k)`):

- Both counters count matmul-class ops only. Ours counts linear, matmul, mm, addmm,
  bmm, baddbmm, einsum, convolution and SDPA (flops_handles.COUNTED_HANDLES), never the
  elementwise ops, norms, reductions or quantizers. FlopCounterMode counts mm, addmm,
  bmm, baddbmm, convolution and the fused attention kernels, never an elementwise op.
  With attention forced onto the MATH backend, SDPA decomposes into two bmm that
  FlopCounterMode sees (the CPU's fused kernel has no flop formula), and a linear
  decomposes into mm/addmm. So the two cover the same products and no comparison has
  to leave an op out; the test asserts that FlopCounterMode counted matmul-class ops
  only, so an elementwise formula added to it would show.
- FlopCounterMode reports FLOPs = 2 * MACs (mm: 2 * m * n * k; the bias of addmm and
  baddbmm is not counted, as fvcore does not count it). Write F for its total at depth
  k and F_q for the part counted inside quantized module q: a module whose
  `operand_bits` (b_1, b_2) has a width below 32 (the binary linears, and the attention
  products of BinaryBERT), found on the model itself.
- Our report moves a quantized module's MACs into BOPs = 2 * MACs * b_1 * b_2 and keeps
  every other MAC in `macs`. So exactly:

      per_exit[k].macs  == (F - sum_q F_q) / 2          the full-precision MACs
      per_exit[k].flops == 2 * per_exit[k].macs
      per_exit[k].bops  == sum_q (F_q / 2) * 2 * b_1 * b_2 == sum_q F_q * b_1 * b_2

  and therefore macs + sum_q F_q / 2 (our fp MACs plus our quantized MACs) == F / 2.
  For the fp models no module is quantized: macs == F / 2 and bops == 0. For a binary
  model with weights at 1 bit and activations at 32 (BEExformer) a block linear's MACs
  are all BOPs (2 * 1 * 32 per MAC); for BinaryBERT the linears are (1, b_a) and the
  attention products (b_a, b_a), so no single divisor turns its BOPs back into MACs:
  hence the per-module split, taken from FlopCounterMode's module hierarchy.

If either counter's matmul count changes (a tracer change in fvcore, a formula change
in torch, a decomposition that hides a product from one of them) the equality breaks.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from beexbench.config import PRESETS
from beexbench.measure.counting import preset_shape
from beexbench.measure.flops import FULL_PRECISION_BITS, OpCounts, count_ops
from beexbench.measure.flops_handles import is_matmul_like
from beexbench.models.registry import get_model_spec, model_names
from beexbench.models.transformer import EncoderClassifier

TINY = PRESETS.get("tiny")
LENGTH = TINY.max_len  # the length `count` and bench count at


def build(name: str) -> EncoderClassifier:
    """The model `count` counts (counting.count_config): the preset's shape, seed 0."""
    cfg = get_model_spec(name).config(preset_shape(TINY))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return EncoderClassifier(cfg)


def token_ids(model: EncoderClassifier, length: int) -> torch.Tensor:
    """count_ops' input: one sample, ids 1.. (no pad, so attention takes the unmasked path)."""
    return (torch.arange(length) % (model.cfg.vocab_size - 1) + 1).unsqueeze(0)


def quantized_modules(model: nn.Module) -> dict[str, tuple[int, int]]:
    """Modules whose products have an operand below 32 bits, by name: what the model
    declares, read here independently of beexbench.measure.flops."""
    found = {}
    for name, module in model.named_modules():
        bits = getattr(module, "operand_bits", None)
        if bits is not None and min(bits) < FULL_PRECISION_BITS:
            found[name] = tuple(bits)
    # A nested pair would be counted twice below; no model of ours has one.
    for outer in found:
        assert not any(inner.startswith(f"{outer}.") for inner in found), outer
    return found


def torch_counts(model: EncoderClassifier, depth: int) -> tuple[OpCounts, int]:
    """FlopCounterMode's figures for the forward to exit `depth`, in our report's terms
    (fp MACs, 2 * those, BOPs of the quantized modules), and its total FLOPs."""
    model.eval()
    ids = token_ids(model, LENGTH)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        model(ids, depth=depth)
    counts = fc.get_flop_counts()
    total = fc.get_total_flops()
    uncommon = [str(op) for op in counts["Global"] if not is_matmul_like(str(op))]
    assert uncommon == [], f"FlopCounterMode counted non-matmul ops {uncommon}"

    # FlopCounterMode names a module by its class name followed by its path from the root.
    root = type(model).__name__
    quantized_flops, bops = 0, 0
    for name, (b1, b2) in quantized_modules(model).items():
        flops = sum(counts.get(f"{root}.{name}", {}).values())
        assert flops % 2 == 0
        quantized_flops += flops
        bops += flops * b1 * b2  # 2 * (flops / 2) * b1 * b2
    assert (total - quantized_flops) % 2 == 0
    fp_macs = (total - quantized_flops) // 2
    return OpCounts(macs=fp_macs, flops=2 * fp_macs, bops=bops), total


@pytest.mark.parametrize("name", model_names())
def test_fvcore_counts_equal_flop_counter_mode(name: str) -> None:
    model = build(name)
    report = count_ops(model, LENGTH)
    assert report.seq_len == LENGTH
    assert tuple(report.per_exit) == model.exit_blocks
    for k, ours in report.per_exit.items():
        theirs, total_flops = torch_counts(model, k)
        assert total_flops > 0
        assert ours == theirs, f"{name} exit {k}: fvcore {ours} != FlopCounterMode {theirs}"


def test_the_cross_check_sees_both_precisions() -> None:
    """The split is exercised: an fp model has no quantized module, BinaryBERT two
    precisions (its linears at (1, 8), its attention products at (8, 8)), and the binary
    MACs FlopCounterMode finds inside them are a real share of its total."""
    assert quantized_modules(build("fp-transformer")) == {}
    model = build("binarybert")
    bits = set(quantized_modules(model).values())
    assert bits == {(1, 8), (8, 8)}
    theirs, total = torch_counts(model, TINY.blocks)
    # Only the exit head's classifier stays in fp32: d_model * classes MACs.
    assert theirs.macs == TINY.d_model * model.cfg.n_classes
    assert 0 < theirs.macs < total // 2 and theirs.bops > 0
