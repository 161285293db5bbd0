"""A ModelConfig read from a JSON object someone may have edited: every field typed and
bounded, so that a damaged file is one line naming the field, never a traceback or a
model too large to build."""

from __future__ import annotations

from dataclasses import MISSING as NO_DEFAULT
from dataclasses import fields

from beexbench.core.typed_json import MISSING, Fields
from beexbench.models.transformer import ModelConfig

BITS = (32, 8, 4, 1)
_INT_RANGES = {
    "vocab_size": (4, 1 << 20), "n_classes": (2, 1 << 16), "d_model": (1, 1 << 14),
    "heads": (1, 1 << 10), "blocks": (1, 1 << 8), "max_len": (1, 1 << 16),
    "ffn_mult": (1, 64), "slfn_mult": (1, 64),
}
_CHOICES = {"weight_bits": (32, 1), "act_bits": BITS, "attn_bits": BITS,
            "sublayer": ("ffn", "slfn"), "exits": ("all", "final")}


def read_model_config(obj: Fields) -> ModelConfig:
    """The ModelConfig held by `obj` (e.g. checkpoint.json's model_config)."""
    values: dict[str, object] = {}
    for field in fields(ModelConfig):
        name = field.name
        default = MISSING if field.default is NO_DEFAULT else field.default
        if name in _CHOICES and name not in ("sublayer", "exits"):
            values[name] = obj.int(name, default=default)
            if values[name] not in _CHOICES[name]:
                allowed = ", ".join(str(c) for c in _CHOICES[name])
                raise obj.fail(name, f"must be one of {allowed}, got {values[name]}")
        elif name in _CHOICES:
            values[name] = obj.str(name, choices=_CHOICES[name], default=default)
        elif name in _INT_RANGES:
            lo, hi = _INT_RANGES[name]
            values[name] = obj.int(name, min=lo, max=hi, default=default)
        elif name == "dropout":
            values[name] = obj.float(name, min=0.0, max=0.99, default=default)
        elif field.type in ("bool", bool):
            values[name] = obj.bool(name, default=default)
        else:  # a field added to ModelConfig must be given its check here
            raise TypeError(f"ModelConfig.{name} has no check in read_model_config")
    unknown = sorted(set(obj.keys()) - set(values))
    if unknown:
        raise obj.fail(unknown[0], "is not a ModelConfig field")
    cfg = ModelConfig(**values)
    if cfg.d_model % cfg.heads:
        raise obj.fail("heads", f"must divide d_model ({cfg.d_model}), got {cfg.heads}")
    return cfg
