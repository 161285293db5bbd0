"""The "Published tables" section: our counts of BERT-base shapes beside BiBERT's table.

The published figures are constants of the papers, copied from them. Ours are never
stored: they are computed while the report is built, by `beexbench count`'s code
(beexbench.measure.counting) on untrained models of the `bert-base` preset at the tables'
sequence length, which takes seconds per model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from beexbench.config import PRESETS
from beexbench.measure import catalog as M
from beexbench.measure.counting import count_model
from beexbench.report.fmt import format_value

PRESET = "bert-base"
LENGTH = 128  # the sequence length of BiBERT's (and BinaryBERT's) FLOP columns
MIB = 2 ** 20
GIGA = 1e9

CITATION = ("H. Qin et al., \"BiBERT: Accurate Fully Binarized BERT\", ICLR 2022: the Size (MB) "
            "and FLOPs (G) columns of its GLUE tables, which also carry BinaryBERT's rows "
            "(H. Bai et al., \"BinaryBERT: Pushing the Limit of BERT Quantization\", ACL 2021)")


@dataclass(frozen=True)
class PublishedRow:
    method: str  # the paper's row
    bits: str  # W-E-A: weight, embedding and activation bits
    model: str  # our registered model whose architecture it is
    ops_g: float  # published FLOPs (G), the literature's ops: FLOPs + BOPs / 64
    size_mb: float  # published size in the paper's "MB", which are MiB
    variant: str = ""  # set when ours is the model with `overrides`, not a registered one
    overrides: dict = field(default_factory=dict)


# Constants of BiBERT's table, not measurements of ours.
PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow("BERT-base (full precision)", "32-32-32", "fp-transformer", 22.5, 418.0),
    PublishedRow("BinaryBERT", "1-1-4", "binarybert-a4", 1.5, 16.5),
    PublishedRow("BinaryBERT", "1-1-2", "binarybert", 0.8, 16.5, "binarybert-a2",
                 {"act_bits": 2, "attn_bits": 2}),
    PublishedRow("BinaryBERT", "1-1-1", "binarybert", 0.4, 16.5, "binarybert-a1",
                 {"act_bits": 1, "attn_bits": 1}),
    # BiBERT binarizes every embedding table; its Bi-Attention costs what a 1-bit
    # attention costs, so its counts are binarybert's at 1 bit with binary positions.
    PublishedRow("BiBERT", "1-1-1", "binarybert", 0.4, 13.4, "bibert-shape",
                 {"act_bits": 1, "attn_bits": 1, "binary_embeddings": True}),
)
COLUMNS = ["published model", "W-E-A bits", "our model", "published ops (G)", "our ops (G)",
           "ours / published ops", "published size (MB = MiB)", "our size (MiB)",
           "ours / published size"]


def _ours(row: PublishedRow) -> str:
    if not row.variant:
        return f"`{row.model}`"
    changes = ", ".join(f"{k}={v}" for k, v in row.overrides.items())
    return f"`{row.model}` with {changes} (variant, not registered)"


def published_rows() -> list[list[str]]:
    """One line per published row: the paper's figures, then ours at the same shape."""
    preset = PRESETS.get(PRESET)
    lines = []
    for row in PUBLISHED:
        counted = count_model(row.model, preset, LENGTH, row.variant, row.overrides)
        ops = counted.value(M.OPS_EXIT.at(preset.blocks)) / GIGA
        size = counted.value(M.MODEL_BYTES.name) / MIB
        lines.append([row.method, row.bits, _ours(row), format_value(row.ops_g),
                      format_value(ops), format_value(ops / row.ops_g),
                      format_value(row.size_mb), format_value(size),
                      format_value(size / row.size_mb)])
    return lines


def published_paragraphs() -> list[str]:
    preset = PRESETS.get(PRESET)
    return [
        f"Our counts of untrained models of BERT-base's shape (preset `{PRESET}`: vocabulary "
        f"{preset.vocab_size}, d_model {preset.d_model}, {preset.heads} heads, {preset.blocks} "
        f"blocks) at sequence length {LENGTH}, beside the published figures of {CITATION}. "
        "The published figures are constants of the papers; ours are computed while this "
        f"report is built, as `beexbench count --models fp-transformer,binarybert-a4 --preset "
        f"{PRESET} --length {LENGTH}` computes them. Ops follow the convention stated above "
        "(ops = FLOPs + BOPs/64, BOPs = 2 x MACs x b_w x b_a, attention products at the bits "
        "they are computed at), which is the convention of these tables.",
        "The papers' \"MB\" are MiB: 418 MB is BERT-base's 109.48 M fp32 parameters / 2^20. "
        "Our sizes are the bytes of the packed artifact; our backbone has no pooler and no "
        "token-type table (0.6 M parameters fewer than BERT-base), and binary tables keep an "
        "fp32 scale per row. Rows marked \"variant\" are binarybert at other bits, counted "
        "but not registered as models.",
    ]
