"""Sizes and op counts of untrained models of a preset's shape: what `count` prints.

No training and no data. The figures are structural (beexbench.measure.structural, the
functions bench measures trained models with): an untrained model of a shape has the
same packed artifact size, parameter counts and op counts as a trained one. Two
choices that training would otherwise make are fixed here: the word table has the
preset's vocabulary size (a trained model's has its tokenizer's, at most that), and
the exit heads have COUNT_CLASSES classes (a binary task, as SST-2; a head is
d_model x classes MACs, a rounding error at any width).
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from beexbench.config import Preset
from beexbench.measure.flops import count_ops
from beexbench.measure.structural import Figure, op_figures, size_figures
from beexbench.models.registry import get_model_spec
from beexbench.models.transformer import EncoderClassifier, ModelConfig

COUNT_CLASSES = 2


@dataclass(frozen=True)
class Counted:
    """One model's structural figures at one shape and length."""

    figures: tuple[Figure, ...]
    unsupported: dict[str, int]  # ops fvcore could not count (none for a built-in model)

    def value(self, metric: str) -> float:
        for figure in self.figures:
            if figure.metric == metric:
                return figure.value
        raise KeyError(metric)


def preset_shape(preset: Preset, n_classes: int = COUNT_CLASSES) -> ModelConfig:
    """The backbone of `preset`, with every family choice at its fp32 default."""
    return ModelConfig(vocab_size=preset.vocab_size, n_classes=n_classes,
                       d_model=preset.d_model, heads=preset.heads, blocks=preset.blocks,
                       max_len=preset.max_len, dropout=preset.dropout,
                       ffn_mult=preset.ffn_mult, slfn_mult=preset.slfn_mult)


@functools.cache
def count_config(name: str, cfg: ModelConfig, length: int) -> Counted:
    """Figures of an untrained model of config `cfg` (family choices applied), named
    `name` in its artifact, counted at `length` tokens.

    Cached per process: at BERT-base shape one model takes seconds, and a report build
    asks for the same ones as `count`."""
    # Our own generator state: building a model must not move the caller's.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = EncoderClassifier(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        sizes = size_figures(model, name, Path(tmp) / f"{name}.safetensors")
    flops = count_ops(model, length)
    return Counted(tuple(sizes + op_figures(flops)), flops.unsupported)


def count_model(name: str, preset: Preset, length: int | None = None,
                variant: str = "", overrides: dict | None = None) -> Counted:
    """Figures of the registered model `name` at `preset`'s shape (default length: its
    max length, the reference length bench counts at).

    `overrides` change ModelConfig fields on top of the model's own (e.g. other
    activation bits): a variant that is not registered, named `variant` in its artifact.
    """
    cfg = replace(get_model_spec(name).config(preset_shape(preset)), **(overrides or {}))
    return count_config(variant or name, cfg, preset.max_len if length is None else length)


def tidy_rows(name: str, preset: Preset, length: int, counted: Counted) -> list[dict]:
    """`counted` as tidy rows: model, preset, length, metric, stat, value, unit, source."""
    return [{"model": name, "preset": preset.name, "length": length, "metric": f.metric,
             "stat": "value", "value": f.value, "unit": f.unit, "source": f.source}
            for f in counted.figures]
