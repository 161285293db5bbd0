"""`fake-quant`: the eager modules as trained (binary layers as fp32 tensors of +-alpha)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from beexbench.runtimes.base import Deployment, Runtime
from beexbench.runtimes.catalog import RUNTIMES

if TYPE_CHECKING:
    from beexbench.models.transformer import EncoderClassifier


@RUNTIMES.register("fake-quant")
class FakeQuant(Runtime):
    description = "eager PyTorch modules; binary layers emulated in fp32"

    def deploy(self, model: EncoderClassifier, name: str, artifacts: Path,
               threads: int) -> Deployment:
        from beexbench.models.artifact import export_packed

        # Its size is the packed artifact's: what a binary model needs on disk.
        size = export_packed(model, name, artifacts / f"{name}.safetensors")
        return Deployment(model, size, "artifact")
