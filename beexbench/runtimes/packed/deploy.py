"""`packed`: the bit-packed kernels and the native engine, loaded from the packed artifact.

Its rows name the kernels' backend (`packed-native`, or `packed-fallback` where the
native build failed), and `+python-exits` where the engine had no rule for a policy and
the Python exit loop decided it (beexbench.runtimes.packed.engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from beexbench.runtimes.base import Deployment, Runnable, Runtime
from beexbench.runtimes.catalog import RUNTIMES

if TYPE_CHECKING:
    from beexbench.models.exits import ExitPolicy
    from beexbench.models.transformer import EncoderClassifier

# The suffix of a packed-native row whose exit policy the engine has no rule for.
PYTHON_EXITS = "+python-exits"


@RUNTIMES.register("packed")
class Packed(Runtime):
    description = "bit-packed XNOR-popcount kernels and the native block engine"
    deploys_binary = True
    cpu_only = True

    def label(self) -> str:
        from beexbench.runtimes.packed.kernels import get_backend

        return get_backend().name

    def policy_label(self, model: Runnable, policy: ExitPolicy) -> str:
        from beexbench.runtimes.packed.engine import NativeInfer

        infer = getattr(model, "infer", None)
        if isinstance(infer, NativeInfer) and not infer.decides(policy):
            return self.label() + PYTHON_EXITS
        return self.label()

    def deploy(self, model: EncoderClassifier, name: str, artifacts: Path,
               threads: int) -> Deployment:
        from beexbench.models.artifact import export_packed
        from beexbench.runtimes.packed.kernels import get_backend
        from beexbench.runtimes.packed.runtime import load_packed_runtime

        artifact = artifacts / f"{name}.safetensors"
        size = export_packed(model, name, artifact)
        # It runs from the artifact whose size was just taken.
        return Deployment(load_packed_runtime(artifact, get_backend()), size, "artifact")
