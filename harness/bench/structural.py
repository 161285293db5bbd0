"""Structural figures of a model: its packed artifact's size, its parameter counts and
its op counts per exit.

The architecture alone decides them (not the weights, the data or the target), so
`bench` takes them from trained models and `count` from untrained ones of a preset's
shape, through these same functions; each figure becomes a result row in the caller's
own row format.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.metrics.flops import FlopReport
from models.artifact import export_fp32, export_packed, parameter_counts
from models.registry import get_model_spec
from models.transformer import EncoderClassifier, ModelConfig

REFERENCE_MODEL = "fp-transformer"  # the denominator of size_ratio_vs_fp
OP_METRICS = (("macs", "MAC"), ("flops", "FLOP"), ("bops", "BOP"), ("ops", "op"))


@dataclass(frozen=True)
class Figure:
    metric: str
    value: float
    unit: str
    source: str


@functools.cache
def fp_reference_bytes(shape: ModelConfig) -> int:
    """Packed bytes of `fp-transformer` of this backbone shape (weights do not change a
    file's size, so an untrained one serves)."""
    ref = get_model_spec(REFERENCE_MODEL).build(shape.backbone())
    with tempfile.TemporaryDirectory() as tmp:
        return export_packed(ref, REFERENCE_MODEL, Path(tmp) / "fp.safetensors")


def size_figures(model: EncoderClassifier, name: str, artifact: Path) -> list[Figure]:
    """Write the packed artifact to `artifact` and measure it: bytes, ratios, counts."""
    packed = export_packed(model, name, artifact)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_fp32(model, Path(tmp) / "fp32.safetensors")
    reference = fp_reference_bytes(model.cfg.backbone())
    counts = parameter_counts(model)
    return [
        Figure("model_bytes", packed, "bytes", "artifact"),
        Figure("compression_ratio", fp32 / packed, "x", "artifact"),
        Figure("size_ratio_vs_fp", reference / packed, "x", "artifact"),
        Figure("params_total", counts["params_total"], "count", "module"),
        Figure("params_binary", counts["params_binary"], "count", "module"),
    ]


def op_figures(flops: FlopReport) -> list[Figure]:
    """`macs_exit_k`, `flops_exit_k`, `bops_exit_k` and `ops_exit_k` for every exit k."""
    figures = []
    for k, counts in flops.per_exit.items():
        for metric, unit in OP_METRICS:
            figures.append(Figure(f"{metric}_exit_{k}", getattr(counts, metric), unit, "fvcore"))
    return figures


def unsupported_listing(flops: FlopReport) -> str:
    """The ops fvcore could not count, one `op<TAB>occurrences` line each ('' if none)."""
    return "".join(f"{op}\t{n}\n" for op, n in flops.unsupported.items())
