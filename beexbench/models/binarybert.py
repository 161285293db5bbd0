"""BinaryBERT as published (W-E-A 1-1-8 and 1-1-4): 1-bit weights (per-row scale) in
every linear, a 1-bit word embedding table, and activations quantized to b_a bits at
every matmul, the attention products included (Q, K, V and the attention
probabilities), as in TernaryBERT and BinaryBERT.

The position table, LayerNorms, biases and the classifier stay fp32.
"""

from beexbench.models.catalog import ModelSpec, register_model


def binarybert(act_bits: int) -> dict:
    """ModelConfig overrides of BinaryBERT with `act_bits`-bit activations."""
    return {"weight_bits": 1, "act_bits": act_bits, "attn_bits": act_bits,
            "binary_word_embedding": True, "exits": "final"}


register_model(ModelSpec(
    "binarybert", binarybert(8),
    description="1-bit weights and word embeddings, 8-bit activations at every matmul "
                "(attention products too), FFN, final exit only",
    family="binarybert",
))
register_model(ModelSpec(
    "binarybert-a4", binarybert(4),
    description="1-bit weights and word embeddings, 4-bit activations at every matmul "
                "(attention products too), FFN, final exit only",
    family="binarybert",
))
