"""Structural figures of a model: its packed artifact's size, its parameter counts and
its op counts per exit.

The architecture alone decides them (not the weights, the data or the target), so
`bench` takes them from trained models and `count` from untrained ones of a preset's
shape, through these same functions; each figure becomes a result row in the caller's
own row format.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from beexbench.measure import catalog as M
from beexbench.measure.flops import FlopReport
from beexbench.models.artifact import export_packed, fp32_bytes, packed_bytes, parameter_counts
from beexbench.models.registry import get_model_spec
from beexbench.models.transformer import EncoderClassifier, ModelConfig

REFERENCE_MODEL = "fp-transformer"  # the denominator of size_ratio_vs_fp
# Each per-exit op metric and the OpCounts field it reports.
OP_METRICS = ((M.MACS_EXIT, "macs"), (M.FLOPS_EXIT, "flops"), (M.BOPS_EXIT, "bops"),
              (M.OPS_EXIT, "ops"))


@dataclass(frozen=True)
class Figure:
    metric: str
    value: float
    source: str

    @property
    def unit(self) -> str:
        return M.require(self.metric).unit


@functools.cache
def fp_reference_bytes(shape: ModelConfig) -> int:
    """Packed bytes of `fp-transformer` of this backbone shape (weights do not change a
    file's size, so an untrained one serves)."""
    ref = get_model_spec(REFERENCE_MODEL).build(shape.backbone())
    return len(packed_bytes(ref, REFERENCE_MODEL))


def size_figures(model: EncoderClassifier, name: str, artifact: Path) -> list[Figure]:
    """Write the packed artifact to `artifact` and measure it: bytes, ratios, counts."""
    return deployed_size_figures(model, export_packed(model, name, artifact), "artifact")


def deployed_size_figures(model: EncoderClassifier, deployed: int, source: str) -> list[Figure]:
    """Bytes, ratios and counts of `model` as deployed in files of `deployed` bytes (its
    packed artifact, or the graphs another runtime runs). Both ratios keep their
    denominators whatever the runtime, so sizes compare across runtimes."""
    fp32 = len(fp32_bytes(model))
    reference = fp_reference_bytes(model.cfg.backbone())
    total, binary = parameter_counts(model)
    return [
        Figure(M.MODEL_BYTES.name, deployed, source),
        Figure(M.COMPRESSION_RATIO.name, fp32 / deployed, source),
        Figure(M.SIZE_RATIO_VS_FP.name, reference / deployed, source),
        Figure(M.PARAMS_TOTAL.name, total, "module"),
        Figure(M.PARAMS_BINARY.name, binary, "module"),
    ]


def op_figures(flops: FlopReport) -> list[Figure]:
    """`macs_exit_k`, `flops_exit_k`, `bops_exit_k` and `ops_exit_k` for every exit k."""
    figures = []
    for k, counts in flops.per_exit.items():
        for metric, field in OP_METRICS:
            figures.append(Figure(metric.at(k), getattr(counts, field), "fvcore"))
    return figures


def unsupported_listing(flops: FlopReport) -> str:
    """The ops fvcore could not count, one `op<TAB>occurrences` line each ('' if none)."""
    return "".join(f"{op}\t{n}\n" for op, n in flops.unsupported.items())
