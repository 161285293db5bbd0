"""The runtimes a model is measured under: which apply to it, and how to deploy it on each.

- `fake-quant`: the eager modules (binary layers as fp32 tensors of +-alpha);
- `packed`: the bit-packed kernels and the native engine, from the packed artifact;
- `ort`, `ort-int8`: ONNX Runtime, fp32 graphs and `quantize_dynamic` int8 graphs, one
  per exit (beexbench.runtimes.onnx); full-precision models only, since a binary model's sign and
  scale ops would run as fp32 there and measure nothing a deployment would use.

Whatever the runtime, the deployed object answers `model(ids)` (every exit's logits)
and `infer(ids, policy)`, so the runner measures every runtime through one path.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from beexbench.core.errors import UsageError
from beexbench.core.registry import unknown
from beexbench.measure.structural import Figure, deployed_size_figures, size_figures
from beexbench.models.exits import ExitPolicy
from beexbench.models.registry import ModelSpec
from beexbench.models.transformer import EncoderClassifier, InferenceOutput, ModelConfig

FAKE_QUANT, PACKED, ORT, ORT_INT8 = "fake-quant", "packed", "ort", "ort-int8"
RUNTIMES = (FAKE_QUANT, PACKED, ORT, ORT_INT8)
ONNX_PRECISION = {ORT: "fp32", ORT_INT8: "int8"}
CPU_ONLY = (PACKED, ORT, ORT_INT8)
ONNX_PACKAGES = ("onnx", "onnxruntime")
# Only the precision fields of a model's config decide where it runs; any shape serves.
_ANY_SHAPE = ModelConfig(vocab_size=2, n_classes=2, d_model=2, heads=1, blocks=1, max_len=1)


class Runnable(Protocol):
    """What the runner calls on a deployed model."""

    exit_blocks: tuple[int, ...]

    def __call__(self, ids: torch.Tensor) -> torch.Tensor: ...

    def infer(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput: ...

    def eval(self) -> Any: ...


@dataclass
class Deployed:
    """A model ready for `target.prepare`, with the size figures of what it runs from."""

    model: Runnable
    figures: list[Figure]


def parse_runtimes(text: str) -> tuple[str, ...]:
    """`--runtimes a,b`: known names, in the order given, each once."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UsageError("--runtimes is empty")
    for name in names:
        if name not in RUNTIMES:
            raise UsageError(unknown("runtime", name, list(RUNTIMES)))
    return names


def full_precision(cfg: ModelConfig) -> bool:
    return (cfg.weight_bits == 32 and cfg.attn_bits == 32 and not cfg.binary_embeddings
            and not cfg.binary_word_embedding)


def applies(runtime: str, spec: ModelSpec) -> bool:
    return runtime not in ONNX_PRECISION or full_precision(spec.config(_ANY_SHAPE))


def why_not(runtime: str) -> str:
    return f"{runtime} runs full-precision models only"


def check_usable(runtimes: tuple[str, ...], device: torch.device) -> None:
    """Refuse, before anything is written, a runtime that cannot run here."""
    for runtime in runtimes:
        if runtime in CPU_ONLY and device.type != "cpu":
            raise UsageError(f"runtime {runtime} runs on the CPU; this target is a "
                             f"{device.type} device")
    if any(r in ONNX_PRECISION for r in runtimes):
        missing = [p for p in ONNX_PACKAGES if importlib.util.find_spec(p) is None]
        if missing:
            raise UsageError(f"runtimes {', '.join(ONNX_PRECISION)} need "
                             f"{' and '.join(missing)}, not installed: "
                             "pip install 'beexbench[ort]'")


def label(runtime: str) -> str:
    """The `runtime` column of its rows: the packed runtime names its backend."""
    if runtime == PACKED:
        from beexbench.runtimes.packed.kernels import get_backend

        return get_backend().name
    return runtime


# The suffix of a packed-native row whose exit policy the engine has no rule for: its
# blocks ran on the engine, its early-exit loop in Python (beexbench.runtimes.packed.engine).
PYTHON_EXITS = "+python-exits"


def policy_label(runtime: str, model: Runnable, policy: ExitPolicy) -> str:
    """The `runtime` column of a policy's rows: `label(runtime)`, unless the native engine
    could not decide this policy and the Python exit loop ran it."""
    name = label(runtime)
    if runtime != PACKED:
        return name
    from beexbench.runtimes.packed.engine import NativeInfer

    infer = getattr(model, "infer", None)
    if isinstance(infer, NativeInfer) and not infer.decides(policy):
        return name + PYTHON_EXITS
    return name


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


def _fake_quant(model: EncoderClassifier, name: str, artifacts: Path,
                threads: int) -> Deployed:
    return Deployed(model, size_figures(model, name, artifacts / f"{name}.safetensors"))


def _packed(model: EncoderClassifier, name: str, artifacts: Path, threads: int) -> Deployed:
    from beexbench.runtimes.packed.kernels import get_backend
    from beexbench.runtimes.packed.runtime import load_packed_runtime

    artifact = artifacts / f"{name}.safetensors"
    figures = size_figures(model, name, artifact)
    # The packed runtime runs from the artifact whose size was just measured.
    return Deployed(load_packed_runtime(artifact, get_backend()), figures)


def _onnx(runtime: str) -> Callable[[EncoderClassifier, str, Path, int], Deployed]:
    def deploy_onnx(model: EncoderClassifier, name: str, artifacts: Path,
                    threads: int) -> Deployed:
        from beexbench.runtimes.onnx.export import export
        from beexbench.runtimes.onnx.runtime import OrtRuntime

        directory = artifacts / f"{name}.{runtime}"
        export(model, name, directory, ONNX_PRECISION[runtime])
        ort_model = OrtRuntime(directory, threads)
        return Deployed(ort_model, deployed_size_figures(model, ort_model.file_bytes(), "onnx"))

    return deploy_onnx


DEPLOY = {FAKE_QUANT: _fake_quant, PACKED: _packed, ORT: _onnx(ORT), ORT_INT8: _onnx(ORT_INT8)}


def deploy(runtime: str, model: EncoderClassifier, name: str, artifacts: Path,
           threads: int) -> Deployed:
    """Write what `runtime` runs from under `artifacts` and load it from there."""
    return DEPLOY[runtime](model, name, artifacts, threads)
