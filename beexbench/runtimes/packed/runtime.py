"""The packed runtime: a model whose binary layers run on the bit-packed kernels.

`to_packed(model)` swaps every BinaryLinear for a PackedLinear and every
BinaryEmbedding for a PackedEmbedding (beexbench.runtimes.packed.layers); the rest of the model
(attention products, LayerNorms, exit heads) is unchanged, so early exits work exactly
as in the fake-quantized model. With the native backend the model then runs on the
native engine (beexbench.runtimes.packed.engine): whole blocks, exit heads and the early-exit loop
in single calls, bit-identical to the module path. fp32 models run there too.

`load_packed_runtime(path)` builds it from the artifact that the harness measures.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from beexbench.models.artifact import binary_modules, load_packed
from beexbench.models.binarize import BinaryLinear
from beexbench.models.transformer import EncoderClassifier, SelectiveLearnForget
from beexbench.runtimes.packed.engine import run_on_engine
from beexbench.runtimes.packed.kernels import Backend, get_backend
from beexbench.runtimes.packed.layers import (
    PackedEmbedding,
    PackedLinear,
    PackedSelectiveLearnForget,
)


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def to_packed(model: EncoderClassifier, backend: Backend | None = None) -> EncoderClassifier:
    """Swap the binary layers for packed ones, in place; returns the model in eval mode."""
    backend = backend or get_backend()
    slfns = {name: m for name, m in model.named_modules()
             if isinstance(m, SelectiveLearnForget) and isinstance(m.gate, BinaryLinear)}
    for name, slfn in slfns.items():
        _replace(model, name, PackedSelectiveLearnForget(slfn, backend))
    for name, module in binary_modules(model).items():
        _replace(model, name, PackedLinear.of(module, backend=backend)
                 if isinstance(module, BinaryLinear) else PackedEmbedding(module, backend))
    if backend.engine is not None:
        run_on_engine(model, backend.engine)
    return model.eval()


def load_packed_runtime(path: Path, backend: Backend | None = None) -> EncoderClassifier:
    """The packed runtime of the artifact at `path`."""
    _, model = load_packed(path)
    return to_packed(model, backend)
