"""Model registry: name -> ModelSpec (how the shared backbone is configured).

ModelSpec, MODELS and register_model (beexbench.models.catalog) are re-exported from
here; plugins register with them.
"""

from __future__ import annotations

from beexbench.core.errors import UsageError
from beexbench.models.catalog import MODELS, ModelSpec, register_model

__all__ = ["MODELS", "ModelSpec", "get_model_spec", "model_names", "register_model",
           "resolve_models"]


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
