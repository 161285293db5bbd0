"""FLOP/BOP counting: fvcore vs torch's FlopCounterMode vs closed forms, on the tiny preset."""

from __future__ import annotations

from functools import cache

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from beexbench.config import PRESETS
from beexbench.measure.flops import FlopReport, OpCounts, count_ops, expected_counts, ops_per_mac
from beexbench.measure.flops_handles import UNCOUNTED_OPS, is_matmul_like
from beexbench.models.registry import get_model_spec, model_names
from beexbench.models.transformer import EncoderClassifier, ModelConfig

TINY = PRESETS.get("tiny")
N_CLASSES = 2
BASE = ModelConfig(
    vocab_size=TINY.vocab_size, n_classes=N_CLASSES, d_model=TINY.d_model, heads=TINY.heads,
    blocks=TINY.blocks, max_len=TINY.max_len, ffn_mult=TINY.ffn_mult, slfn_mult=TINY.slfn_mult,
)
T, D, BLOCKS = TINY.max_len, TINY.d_model, TINY.blocks
ALL_EXITS = tuple(range(1, BLOCKS + 1))

# name -> (sublayer, activation bits into the linears or None for fp32 weights, exit blocks,
# bits of the attention products' operands or None for fp32 attention), written out by
# hand from the design table so a registry change has to be looked at here.
EXPECTED = {
    "fp-transformer": ("ffn", None, (BLOCKS,), None),
    "fp-transformer-ee": ("ffn", None, ALL_EXITS, None),
    "binarybert": ("ffn", 8, (BLOCKS,), 8),
    "binarybert-a4": ("ffn", 4, (BLOCKS,), 4),
    "beexformer": ("slfn", 32, ALL_EXITS, None),
    "beexformer-a1": ("slfn", 1, ALL_EXITS, None),
    "beexformer-ffn": ("ffn", 32, ALL_EXITS, None),
    "beexformer-noexit": ("slfn", 32, (BLOCKS,), None),
}
FP_MODELS = [n for n, (_, bits, _, _) in EXPECTED.items() if bits is None]
BINARY_MODELS = [n for n, (_, bits, _, _) in EXPECTED.items() if bits is not None]


def build(name: str) -> EncoderClassifier:
    torch.manual_seed(0)
    return get_model_spec(name).build(BASE).eval()


@cache
def report(name: str) -> FlopReport:
    return count_ops(build(name), T)


def linear_macs_per_block(sublayer: str) -> int:
    attn_proj = 3 * T * D * D + T * D * D  # qkv + out
    if sublayer == "ffn":
        return attn_proj + 2 * T * D * (TINY.ffn_mult * D)
    return attn_proj + 3 * T * D * (TINY.slfn_mult * D)  # gate, candidate, out


ATTENTION_MACS_PER_BLOCK = 2 * T * T * D  # Q K^T and A V over all heads
EXIT_HEAD_MACS = D * N_CLASSES


def closed_form(name: str, k: int) -> OpCounts:
    """Counts at exit k for the tiny preset, from the layer shapes alone.

    The literature's rule: a MAC with b_1- and b_2-bit operands is 2 * b_1 * b_2 BOPs."""
    sublayer, act_bits, exits, attn_bits = EXPECTED[name]
    heads = sum(1 for e in exits if e <= k)
    attention = k * ATTENTION_MACS_PER_BLOCK
    linear = k * linear_macs_per_block(sublayer)
    macs, bops = heads * EXIT_HEAD_MACS, 0
    if act_bits is None:
        macs += linear
    else:
        bops += 2 * linear * 1 * act_bits
    if attn_bits is None:
        macs += attention
    else:
        bops += 2 * attention * attn_bits * attn_bits
    return OpCounts(macs=macs, flops=2 * macs, bops=bops)


def torch_flops(model: EncoderClassifier, k: int) -> int:
    ids = torch.arange(1, T + 1).unsqueeze(0)
    # The math path decomposes attention into matmuls that FlopCounterMode can see.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        model(ids, depth=k)
    return fc.get_total_flops()


def test_every_registered_model_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(model_names())


@pytest.mark.parametrize("name", FP_MODELS)
def test_fp_models_agree_with_torch_and_closed_form(name: str) -> None:
    model, rep = build(name), report(name)
    for k, counts in rep.per_exit.items():
        expected = closed_form(name, k)
        assert counts == expected
        assert torch_flops(model, k) == counts.flops == 2 * expected.macs
        assert counts.bops == 0


@pytest.mark.parametrize("name", BINARY_MODELS)
def test_binary_models_move_linear_macs_to_bops(name: str) -> None:
    rep = report(name)
    for k, counts in rep.per_exit.items():
        assert counts == closed_form(name, k)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_per_exit_covers_every_exit_and_grows_with_depth(name: str) -> None:
    rep = report(name)
    assert rep.seq_len == T
    assert tuple(rep.per_exit) == EXPECTED[name][2] == build(name).exit_blocks
    counts = [rep.per_exit[k] for k in sorted(rep.per_exit)]
    for shallow, deep in zip(counts, counts[1:], strict=False):
        assert deep.macs > shallow.macs
        assert deep.ops > shallow.ops
        assert deep.bops > shallow.bops or deep.bops == shallow.bops == 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_matmul_like_op_goes_uncounted(name: str) -> None:
    missed = [op for op in report(name).unsupported if is_matmul_like(op)]
    assert missed == []


@pytest.mark.parametrize("name", model_names())
def test_every_registered_model_counts_without_an_unsupported_op(name: str) -> None:
    """bench writes flops/<model>-unsupported.txt exactly when this is not empty."""
    assert report(name).unsupported == {}


def _linear_ops_per_mac(name: str) -> float:
    """ops per MAC of the block linears, read off the counts: (ops - fp part) / linear MACs."""
    rep = report(name)
    counts = rep.per_exit[BLOCKS]
    fp_ops = 2 * (BLOCKS * ATTENTION_MACS_PER_BLOCK + len(rep.per_exit) * EXIT_HEAD_MACS)
    return (counts.ops - fp_ops) / (BLOCKS * linear_macs_per_block(EXPECTED[name][0]))


def test_per_mac_op_weights_follow_the_closed_form() -> None:
    # W1A1: 2 * 1 * 1 / 64 = 1/32 op per binary MAC; W1A32: 2 * 1 * 32 / 64 = 1 op (an add).
    assert ops_per_mac((1, 1)) == 1 / 32
    assert ops_per_mac((1, 32)) == 1.0
    assert ops_per_mac((1, 8)) == 8 / 32
    assert ops_per_mac((32, 32)) == 2.0
    assert _linear_ops_per_mac("beexformer-a1") == pytest.approx(1 / 32, rel=1e-12)
    assert _linear_ops_per_mac("beexformer") == pytest.approx(1.0, rel=1e-12)
    assert _linear_ops_per_mac("fp-transformer") == pytest.approx(2.0, rel=1e-12)


def test_uncounted_list_holds_no_matmul_like_op() -> None:
    assert [op for op in UNCOUNTED_OPS if is_matmul_like(op)] == []
    for op in ("aten::addbmm", "aten::_convolution", "aten::linear",
               "aten::scaled_dot_product_attention", "aten::einsum", "aten::baddbmm"):
        assert is_matmul_like(op)


class _AddbmmSublayer(nn.Module):
    """A sublayer built on an op fvcore has no handle for."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(1, d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addbmm(x[0], x, self.w).unsqueeze(0)


def test_an_uncountable_matmul_is_reported() -> None:
    model = build("fp-transformer")
    model.blocks[0].sublayer = _AddbmmSublayer(D)
    rep = count_ops(model, T)
    assert rep.unsupported.get("aten::addbmm") == 1
    assert [op for op in rep.unsupported if is_matmul_like(op)] == ["aten::addbmm"]


def test_count_ops_restores_training_mode_and_checks_length() -> None:
    model = build("beexformer").train()
    count_ops(model, 8)
    assert model.training
    with pytest.raises(ValueError):
        count_ops(model, T + 1)


def test_shorter_sequence_scales_the_closed_form() -> None:
    rep = count_ops(build("fp-transformer"), 8)
    macs = BLOCKS * (12 * 8 * D * D + 2 * 8 * 8 * D) + EXIT_HEAD_MACS
    assert rep.per_exit[BLOCKS].macs == macs


def test_ops_weighs_bops_by_one_sixty_fourth() -> None:
    assert OpCounts(macs=10, flops=20, bops=128).ops == 22.0


def test_expected_counts_weigh_each_exit_by_its_probability() -> None:
    per_exit = {
        1: OpCounts(macs=100, flops=200, bops=640),
        2: OpCounts(macs=300, flops=600, bops=1280),
        3: OpCounts(macs=500, flops=1000, bops=6400),
    }
    got = expected_counts(per_exit, {1: 0.5, 2: 0.25, 3: 0.25})
    assert got == pytest.approx({
        "macs_expected": 50 + 75 + 125,
        "flops_expected": 100 + 150 + 250,
        "bops_expected": 320 + 320 + 1600,
        "ops_expected": 0.5 * 210 + 0.25 * 620 + 0.25 * 1100,
    })
    assert expected_counts(per_exit, {3: 1.0})["ops_expected"] == per_exit[3].ops


@pytest.mark.parametrize("dist", [{1: 0.5, 2: 0.25}, {4: 1.0}, {1: 1.5, 2: -0.5}])
def test_expected_counts_rejects_a_bad_distribution(dist: dict[int, float]) -> None:
    per_exit = {k: OpCounts(macs=k, flops=2 * k, bops=0) for k in (1, 2, 3)}
    with pytest.raises(ValueError):
        expected_counts(per_exit, dist)
