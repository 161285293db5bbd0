"""BEExformer: binary weights everywhere (embeddings included), a binarized Selective
Learn-Forget Network (beexbench.models.transformer.SelectiveLearnForget) in place of the FFN,
and an exit after every block governed by the entropy-drop rule.

Ablations: `beexformer-a1` (1-bit activations too), `beexformer-ffn` (FFN instead of
SLFN), `beexformer-noexit` (final exit only).
"""

from beexbench.models.catalog import ModelSpec, register_model

BEEX = {"weight_bits": 1, "act_bits": 32, "binary_embeddings": True, "sublayer": "slfn",
        "exits": "all"}

register_model(ModelSpec(
    "beexformer", BEEX, policies=("beex-entropy-drop",),
    description="1-bit weights incl. embeddings, binarized SLFN, entropy-drop exits",
    family="beexformer",
))
register_model(ModelSpec(
    "beexformer-a1", {**BEEX, "act_bits": 1}, policies=("beex-entropy-drop",),
    description="as beexformer, with 1-bit (ApproxSign) activations into every linear",
    family="beexformer",
))
register_model(ModelSpec(
    "beexformer-ffn", {**BEEX, "sublayer": "ffn"}, policies=("beex-entropy-drop",),
    description="ablation: FFN instead of SLFN",
    family="beexformer",
))
register_model(ModelSpec(
    "beexformer-noexit", {**BEEX, "exits": "final"},
    description="ablation: final exit only",
    family="beexformer",
))
