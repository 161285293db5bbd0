"""The MODELS registry object and ModelSpec, apart from beexbench.models.registry so the
model families can register without an import cycle (beexbench.models.registry imports
every built-in family)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from beexbench.core.registry import Registry

if TYPE_CHECKING:  # `list models` and --help read specs without loading torch
    from beexbench.models.transformer import EncoderClassifier, ModelConfig


@dataclass(frozen=True)
class ModelSpec:
    name: str
    overrides: dict = field(default_factory=dict)  # ModelConfig fields this family sets
    policies: tuple[str, ...] = ("final",)  # the first is the model's default policy
    description: str = ""
    family: str = ""  # models that share a training recipe (beexbench/train/recipes.py)

    @property
    def default_policy(self) -> str:
        return self.policies[0]

    def config(self, base: ModelConfig) -> ModelConfig:
        return replace(base, **self.overrides)

    def build(self, base: ModelConfig) -> EncoderClassifier:
        from beexbench.models.transformer import EncoderClassifier

        return EncoderClassifier(self.config(base))


MODELS: Registry[ModelSpec] = Registry("model", entry_points="beexbench.models")


def register_model(spec: ModelSpec) -> ModelSpec:
    return MODELS.register(spec.name)(spec)
