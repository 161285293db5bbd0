"""The packed model artifact: a safetensors file whose size is the model's `model_bytes`.

Every binary weight (BinaryLinear, BinaryEmbedding) is stored as its sign bits packed
64 to an int64 word (8 per byte; layout in beexbench.models.bitpack) under
`<module>.weight_bits`, next to its fp32 per-row scale `<module>.alpha`; everything
else (biases, LayerNorms, fp32 embeddings and linears, exit heads) is stored as fp32.
The header metadata holds the format marker, the model name and its ModelConfig, so
the artifact loads on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from beexbench.core.atomic import atomic_write_bytes
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, parse_json
from beexbench.models.binarize import BinaryEmbedding, BinaryLinear
from beexbench.models.bitpack import pack_signs, unpack_signs, words_for
from beexbench.models.config_fields import read_model_config
from beexbench.models.registry import MODELS, get_model_spec
from beexbench.models.state_check import check_state, expected_state
from beexbench.models.transformer import EncoderClassifier, ModelConfig

FORMAT = "beexbench-packed/1"
BINARY_TYPES = (BinaryLinear, BinaryEmbedding)


def binary_modules(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    return {name: m for name, m in model.named_modules() if isinstance(m, BINARY_TYPES)}


def packed_state(model: EncoderClassifier) -> dict[str, torch.Tensor]:
    """Tensors of the packed artifact: sign bits for binary weights, fp32 for the rest."""
    binary = binary_modules(model)
    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        owner, _, leaf = name.rpartition(".")
        if owner in binary and leaf == "weight":
            tensors[f"{owner}.weight_bits"] = pack_signs(tensor.detach()).contiguous()
        else:
            tensors[name] = tensor.detach().float().contiguous()
    return tensors


def packed_bytes(model: EncoderClassifier, model_name: str) -> bytes:
    """The packed artifact's file content (the same bytes for the same weights)."""
    meta = {"format": FORMAT, "model": model_name,
            "model_config": json.dumps(model.cfg.to_dict(), sort_keys=True)}
    return canonical_safetensors(save(packed_state(model), metadata=meta))


def canonical_safetensors(data: bytes) -> bytes:
    """A safetensors file with its JSON header's keys sorted: safetensors writes them in
    hash-map order, which differs between processes, so equal artifacts had different
    bytes (and hashes). The header keeps its length; the data is untouched."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(text) > size:  # not the compact header expected: leave the file as written
        return data
    return data[:8] + text.ljust(size, b" ") + data[8 + size:]


def fp32_bytes(model: EncoderClassifier) -> bytes:
    """Every parameter as fp32 (the model's own uncompressed form), as a safetensors file."""
    return save({k: v.detach().float().contiguous() for k, v in model.state_dict().items()})


def export_packed(model: EncoderClassifier, model_name: str, path: Path) -> int:
    """Write the packed artifact (atomically); returns its size in bytes."""
    data = packed_bytes(model, model_name)
    atomic_write_bytes(path, data, what="packed artifact")
    return len(data)


def read_artifact(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise UsageError(f"artifact {path}: not a safetensors file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise UsageError(f"artifact {path}: unknown format (expected {FORMAT})")
    return meta, tensors


def expected_packed(model: EncoderClassifier) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of every tensor `packed_state(model)` writes."""
    binary = binary_modules(model)
    out = {}
    for name, (shape, _) in expected_state(model).items():
        owner, _, leaf = name.rpartition(".")
        if owner in binary and leaf == "weight":
            out[f"{owner}.weight_bits"] = ((*shape[:-1], words_for(shape[-1])), torch.int64)
        else:
            out[name] = (shape, torch.float32)
    return out


def _artifact_model(path: Path, meta: dict[str, str]) -> tuple[str, ModelConfig]:
    where = f"artifact {path}"
    name = meta.get("model")
    if name not in MODELS:
        raise UsageError(f"{where}: header names no known model, got {name!r}")
    text = meta.get("model_config")
    if text is None:
        raise UsageError(f"{where}: header has no model_config")
    fields = Fields(parse_json(text.encode("utf-8"), where=f"{where}: model_config"),
                    where=f"{where}: model_config")
    cfg = read_model_config(fields)
    if get_model_spec(name).config(cfg) != cfg:
        raise UsageError(f"{where}: model_config does not match model {name}")
    return name, cfg


def load_packed(path: Path) -> tuple[str, EncoderClassifier]:
    """Rebuild the fake-quantized model from the artifact (latent weights become +-1)."""
    meta, tensors = read_artifact(path)
    name, cfg = _artifact_model(path, meta)
    spec = get_model_spec(name)
    with torch.device("meta"):  # shapes and dtypes only: nothing allocated
        expected = expected_packed(spec.build(cfg))
    check_state(tensors, expected, where=f"artifact {path}: tensors do not fit the model")
    model = spec.build(cfg)
    state = {}
    for module_name, module in binary_modules(model).items():
        n = module.weight.shape[1]
        bits = tensors.pop(f"{module_name}.weight_bits")
        state[f"{module_name}.weight"] = unpack_signs(bits, n)
    state.update(tensors)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UsageError(f"artifact {path}: tensors do not fit the model "
                         f"({str(exc).splitlines()[0]})") from None
    return name, model.eval()


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    """(all parameters, parameters stored at 1 bit)."""
    binary = sum(m.weight.numel() for m in binary_modules(model).values())
    return sum(p.numel() for p in model.parameters()), binary
