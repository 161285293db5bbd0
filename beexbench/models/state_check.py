"""Tensors from a file checked against what the model expects before any is used: the same
names, dtype and shape, and finite values, so that a damaged or foreign file is one line."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from beexbench.core.errors import UsageError

Expected = Mapping[str, tuple[tuple[int, ...], torch.dtype]]


def expected_state(model: torch.nn.Module) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of every tensor in the model's state dict."""
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def check_state(found: Mapping[str, torch.Tensor], expected: Expected, *, where: str) -> None:
    """Raise UsageError("<where>: ...") unless `found` holds exactly the expected tensors,
    each of the expected dtype and shape and (floating point) finite everywhere."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise UsageError(f"{where}: tensors missing: {_names(missing)}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise UsageError(f"{where}: tensors the model does not have: {_names(extra)}")
    for name, (shape, dtype) in expected.items():
        tensor = found[name]
        if tensor.dtype != dtype:
            raise UsageError(f"{where}: tensor {name} is {tensor.dtype}, expected {dtype}")
        if tuple(tensor.shape) != shape:
            raise UsageError(f"{where}: tensor {name} has shape {tuple(tensor.shape)}, "
                             f"expected {shape}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UsageError(f"{where}: tensor {name} holds NaN or infinite values")
