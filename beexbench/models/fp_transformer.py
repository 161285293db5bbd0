"""Full-precision baselines: a plain transformer and one with threshold exits."""

from beexbench.models.catalog import ModelSpec, register_model

register_model(ModelSpec(
    "fp-transformer",
    {"exits": "final"},
    description="fp32 post-LN transformer, FFN (GELU), final exit only",
    family="fp",
))
register_model(ModelSpec(
    "fp-transformer-ee",
    {"exits": "all"},
    policies=("deebert-entropy", "pabee-patience", "beex-entropy-drop"),
    description="fp32 transformer with an exit after every block (DeeBERT, PABEE, entropy drop)",
    family="fp",
))
