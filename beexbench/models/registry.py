"""Model registry: name -> ModelSpec (how the shared backbone is configured)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from beexbench.core.errors import UsageError
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


def get_model_spec(name: str) -> ModelSpec:
    import beexbench.models.beexformer  # noqa: F401  (registers its models)
    import beexbench.models.binarybert  # noqa: F401
    import beexbench.models.fp_transformer  # noqa: F401

    return MODELS.get(name)


def model_names() -> list[str]:
    get_model_spec("fp-transformer")
    return MODELS.names()


def resolve_models(spec: str) -> tuple[str, ...]:
    """`--models`: comma-separated registered names, or `all`; a bad name fails here."""
    if spec == "all":
        return tuple(model_names())
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if not names:
        raise UsageError("--models is empty")
    for name in names:
        get_model_spec(name)
    return names
