"""Write a model's stages as .onnx files: fp32 (torch.onnx) and dynamic int8 (ORT's quantizer).

An export directory holds `exit_<k>.onnx` for each stage (k its exit block) and
`manifest.json` (model name, exit blocks, class count, precision, the files in order),
so the runtime loads from the directory alone, as the packed runtime loads from its
artifact. Batch and sequence length are dynamic axes: one graph serves batch 1 at a
sample's own length and padded batches.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from beexbench.core.atomic import atomic_write_text, cannot_write, new_temp_dir, replace_dir
from beexbench.models.transformer import EncoderClassifier
from beexbench.runtimes.onnx.stages import stage_ranges, stages

MANIFEST = "manifest.json"
FP32, INT8 = "fp32", "int8"
# LayerNormalization is a single op from opset 17 on.
OPSET = 17
BATCH, TOKENS = "batch", "tokens"
AXES = {
    "ids": {0: BATCH, 1: TOKENS}, "x": {0: BATCH, 1: TOKENS}, "pool": {0: BATCH, 1: TOKENS},
    "mask": {0: BATCH, 3: TOKENS}, "logits": {0: BATCH}, "entropy": {0: BATCH},
    "pred": {0: BATCH},
}
# What every stage ends with: its exit's logits, normalized entropy and argmax.
VERDICT = ["logits", "entropy", "pred"]


@dataclass(frozen=True)
class Manifest:
    model: str
    exit_blocks: tuple[int, ...]
    n_classes: int
    precision: str
    files: tuple[str, ...]

    def write(self, directory: Path) -> None:
        payload = {"model": self.model, "exit_blocks": list(self.exit_blocks),
                   "n_classes": self.n_classes, "precision": self.precision,
                   "files": list(self.files)}
        atomic_write_text(directory / MANIFEST, json.dumps(payload, indent=1) + "\n",
                          what="ONNX manifest")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        data = json.loads((directory / MANIFEST).read_text())
        return cls(str(data["model"]), tuple(int(k) for k in data["exit_blocks"]),
                   int(data["n_classes"]), str(data["precision"]),
                   tuple(str(f) for f in data["files"]))

    def paths(self, directory: Path) -> list[Path]:
        return [directory / f for f in self.files]


def _names(index: int, n_stages: int) -> tuple[list[str], list[str]]:
    last = index == n_stages - 1
    inputs = ["ids"] if index == 0 else ["x", "pool", "mask"]
    if last:
        return inputs, VERDICT
    return inputs, (["x", "pool", "mask"] if index == 0 else ["x"]) + VERDICT


def _example(model: EncoderClassifier) -> tuple[torch.Tensor, ...]:
    """Inputs to trace with: two rows, one padded, so no shape is specialised to 1."""
    length = min(5, model.cfg.max_len)
    ids = torch.randint(1, model.cfg.vocab_size, (2, length))
    ids[1, length - 2:] = 0
    return (ids,)


def export_fp32(model: EncoderClassifier, name: str, directory: Path) -> Manifest:
    """Export every stage of `model` into `directory` (created); returns its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = stages(model)
    files = []
    feed = _example(model)
    with torch.no_grad():
        for i, (stage, (_, last)) in enumerate(zip(parts, stage_ranges(model), strict=True)):
            inputs, outputs = _names(i, len(parts))
            path = directory / f"exit_{last}.onnx"
            with warnings.catch_warnings():
                # The TorchScript exporter is deprecated in favour of the torch.export one,
                # which needs onnxscript; it traces these control-flow-free stages exactly.
                warnings.simplefilter("ignore")
                torch.onnx.export(stage, feed, str(path), input_names=inputs,
                                  output_names=outputs, opset_version=OPSET,
                                  dynamic_axes={n: AXES[n] for n in inputs + outputs},
                                  dynamo=False)
            files.append(path.name)
            if i < len(parts) - 1:
                out = stage(*feed)
                # The next stage takes (x, pool, mask): the first stage also returns logits.
                feed = (out[0], out[1], out[2]) if i == 0 else (out[0], feed[1], feed[2])
    manifest = Manifest(name, tuple(model.exit_blocks), model.cfg.n_classes, FP32, tuple(files))
    manifest.write(directory)
    return manifest


def export_int8(model: EncoderClassifier, name: str, directory: Path) -> Manifest:
    """Export fp32 stages, then quantize each with onnxruntime's quantize_dynamic (QInt8
    weights, activations quantized per call at run time) into `directory`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_fp32(model, name, Path(tmp))
        quiet = logging.getLogger().level
        # The quantizer logs advice (pre-processing) through the root logger on every call.
        logging.getLogger().setLevel(logging.ERROR)
        try:
            for file in fp32.files:
                quantize_dynamic(Path(tmp) / file, directory / file,
                                 weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().setLevel(quiet)
    manifest = Manifest(name, fp32.exit_blocks, fp32.n_classes, INT8, fp32.files)
    manifest.write(directory)
    return manifest


def export(model: EncoderClassifier, name: str, directory: Path, precision: str) -> Manifest:
    """Export into a temporary folder beside `directory`, then rename it in whole: an
    earlier export there stays usable until the new one is complete."""
    build = {FP32: export_fp32, INT8: export_int8}.get(precision)
    if build is None:
        raise ValueError(f"unknown ONNX precision {precision!r}")
    stage = new_temp_dir(directory, what="ONNX export")
    try:
        manifest = build(model, name, stage)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise cannot_write("ONNX export", directory, exc) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    replace_dir(stage, directory, what="ONNX export")
    return manifest
