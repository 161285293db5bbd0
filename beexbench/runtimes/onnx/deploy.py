"""`ort` and `ort-int8`: ONNX Runtime on fp32 graphs and on `quantize_dynamic` int8 graphs,
one per exit (beexbench.runtimes.onnx.export). Full-precision models only: a binary
model's sign and scale ops would run as fp32 there and measure nothing a deployment
would use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from beexbench.runtimes.base import Deployment, Runtime
from beexbench.runtimes.catalog import RUNTIMES

if TYPE_CHECKING:
    from beexbench.models.transformer import EncoderClassifier


class OnnxRuntime(Runtime):
    full_precision_only = True
    cpu_only = True
    packages = ("onnx", "onnxruntime")
    extra = "ort"
    precision: ClassVar[str] = ""

    def deploy(self, model: EncoderClassifier, name: str, artifacts: Path,
               threads: int) -> Deployment:
        from beexbench.runtimes.onnx.export import export
        from beexbench.runtimes.onnx.runtime import OrtRuntime

        directory = artifacts / f"{name}.{self.name}"
        export(model, name, directory, self.precision)
        deployed = OrtRuntime(directory, threads)
        return Deployment(deployed, deployed.file_bytes(), "onnx")


@RUNTIMES.register("ort")
class OrtFp32(OnnxRuntime):
    description = "ONNX Runtime, fp32 graphs, one per exit"
    precision = "fp32"


@RUNTIMES.register("ort-int8")
class OrtInt8(OnnxRuntime):
    description = "ONNX Runtime, dynamic int8 graphs (quantize_dynamic), one per exit"
    precision = "int8"
