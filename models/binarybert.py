"""BinaryBERT-style baselines: 1-bit weights (per-row scale), 8- or 4-bit activations.

Embeddings, LayerNorms and the classifier stay fp32, as in BinaryBERT.
"""

from models.registry import ModelSpec, register_model

register_model(ModelSpec(
    "binarybert",
    {"weight_bits": 1, "act_bits": 8, "exits": "final"},
    description="1-bit weights, 8-bit activations, FFN, final exit only",
))
register_model(ModelSpec(
    "binarybert-a4",
    {"weight_bits": 1, "act_bits": 4, "exits": "final"},
    description="1-bit weights, 4-bit activations, FFN, final exit only",
))
