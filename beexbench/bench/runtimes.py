"""bench's use of the runtimes (beexbench.runtimes.registry): which apply to a model, the
size figures of what each deploys, and how one batch-1 query runs.

The runtimes themselves are registered classes: `fake-quant` (the eager modules),
`packed` (the bit-packed kernels and native engine), `ort` and `ort-int8` (ONNX Runtime,
full-precision models only), and whatever plugins add.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from beexbench.core.errors import UsageError
from beexbench.measure.structural import Figure, deployed_size_figures
from beexbench.models.exits import ExitPolicy
from beexbench.models.registry import ModelSpec
from beexbench.models.transformer import EncoderClassifier, ModelConfig
from beexbench.runtimes.base import Runnable, full_precision
from beexbench.runtimes.registry import RUNTIMES, get_runtime, parse_runtimes

__all__ = ["RUNTIMES", "Deployed", "Runnable", "applies", "check_usable", "deploy",
           "full_precision", "parse_runtimes", "single_query", "timed_here"]

# Only the precision fields of a model's config decide where it runs; any shape serves.
_ANY_SHAPE = ModelConfig(vocab_size=2, n_classes=2, d_model=2, heads=1, blocks=1, max_len=1)


@dataclass
class Deployed:
    """A model ready for `target.prepare`, with the size figures of what it runs from."""

    model: Runnable
    figures: list[Figure]


def applies(runtime: str, spec: ModelSpec) -> bool:
    return get_runtime(runtime).applies(spec.config(_ANY_SHAPE))


def check_usable(runtimes: tuple[str, ...], device: torch.device) -> None:
    """Refuse, before anything is written, a runtime that cannot run here."""
    for name in runtimes:
        reason = get_runtime(name).unusable(device.type)
        if reason:
            raise UsageError(reason)


def timed_here(runtime: str, cfg: ModelConfig, runtimes: tuple[str, ...]) -> bool:
    """Whether a model of `cfg` is timed under `runtime` in a run of `runtimes`: a binary
    model's timing on a runtime that only emulates it (fake-quant: fp32 tensors of
    +-alpha) is no deployment's, so it is taken only where no runtime of the run deploys
    it bit-packed; its accuracy and counts are recorded either way."""
    if full_precision(cfg) or get_runtime(runtime).deploys_binary:
        return True
    return not any(get_runtime(r).deploys_binary for r in runtimes)


def deploy(runtime: str, model: EncoderClassifier, name: str, artifacts: Path,
           threads: int) -> Deployed:
    """Write what `runtime` runs from under `artifacts`, load it, and size it."""
    done = get_runtime(runtime).deploy(model, name, artifacts, threads)
    return Deployed(done.model, deployed_size_figures(model, done.artifact_bytes, done.source))


def single_query(model: Runnable, policy: ExitPolicy
                 ) -> tuple[Callable[[torch.Tensor], Any], Callable[[Any], object]]:
    """(prepare, query): how a deployment runs one batch-1 query of `model` under `policy`.

    `prepare` turns a [1, T] id tensor into the query's input and runs outside the timed
    span; `query` is the whole per-query work. A deployed object with a lean loop of its
    own offers `lean(policy)` (ONNX Runtime's stage loop; the native engine, whose exit
    rule is built once, not per query); eager modules run `infer`."""
    lean = getattr(model, "lean", None)
    if lean is not None:
        return lean(policy)
    return (lambda ids: ids), (lambda ids: model.infer(ids, policy))
