import torch

from beexbench.models.exits import make_policy
from beexbench.models.registry import get_model_spec, model_names
from beexbench.models.transformer import ModelConfig

BASE = ModelConfig(vocab_size=60, n_classes=3, d_model=32, heads=2, blocks=4, max_len=16)
EIGHT = {"fp-transformer", "fp-transformer-ee", "binarybert", "binarybert-a4", "beexformer",
         "beexformer-a1", "beexformer-ffn", "beexformer-noexit"}


def build(name, **over):
    torch.manual_seed(0)
    cfg = ModelConfig(**{**BASE.to_dict(), **over})
    return get_model_spec(name).build(cfg).eval()


def count_block_calls(model):
    calls = []
    for i, block in enumerate(model.blocks, start=1):
        block.register_forward_hook(lambda m, a, o, i=i: calls.append((i, a[0].shape[0])))
    return calls


def test_the_eight_models_are_registered():
    assert EIGHT <= set(model_names())


def test_forward_returns_every_exit_or_only_the_last():
    ids = torch.randint(1, 60, (5, 12))
    assert build("beexformer")(ids).shape == (4, 5, 3)
    assert build("fp-transformer")(ids).shape == (1, 5, 3)
    assert build("beexformer")(ids, depth=2).shape == (2, 5, 3)


def test_early_exit_runs_fewer_blocks_batch_one():
    model = build("fp-transformer-ee")
    calls = count_block_calls(model)
    out = model.infer(torch.randint(1, 60, (1, 10)), make_policy("deebert-entropy", 1.01))
    assert out.exit_layer.tolist() == [1]
    assert calls == [(1, 1)]
    calls.clear()
    model.infer(torch.randint(1, 60, (1, 10)), make_policy("final"))
    assert [c[0] for c in calls] == [1, 2, 3, 4]


def test_batched_exits_are_per_sample_and_later_blocks_skip_exited_samples():
    model = build("beexformer")
    ids = torch.randint(1, 60, (16, 12))
    ids[3, 6:] = 0  # padding in one row
    policy = make_policy("beex-entropy-drop", 0.05)
    calls = count_block_calls(model)
    out = model.infer(ids, policy)
    # Each block sees exactly the samples that had not exited before it.
    for block, batch in calls:
        assert batch == int((out.exit_layer >= block).sum())
    # Same result as running every exit and simulating the policy offline.
    from beexbench.measure.evaluate import apply_policy, record_exits

    record = record_exits(model, ids, (ids != 0).sum(1))
    sim = apply_policy(record, policy)
    assert torch.equal(sim.exit_layer, out.exit_layer)
    assert torch.equal(sim.pred_policy, out.logits.argmax(-1))


def test_final_only_models_predict_with_the_last_block():
    model = build("binarybert")
    ids = torch.randint(1, 60, (4, 9))
    out = model.infer(ids, make_policy("final"))
    assert out.exit_layer.tolist() == [4] * 4
    assert torch.allclose(out.logits, model(ids)[-1], atol=1e-6)


def test_binary_models_use_binary_linears_and_embeddings_where_the_design_says():
    from beexbench.models.binarize import BinaryEmbedding, BinaryLinear

    beex = build("beexformer")
    assert isinstance(beex.tok_emb, BinaryEmbedding)
    assert isinstance(beex.blocks[0].sublayer.gate, BinaryLinear)
    assert all(isinstance(h.classify, torch.nn.Linear) for h in beex.exit_heads.values())
    assert isinstance(beex.pos_emb, BinaryEmbedding)
    assert beex.blocks[0].attn.products.bits == 32
    bb = build("binarybert")
    # BinaryBERT's W-E-A: a 1-bit word table, positions in fp32.
    assert isinstance(bb.tok_emb, BinaryEmbedding)
    assert type(bb.pos_emb) is torch.nn.Embedding
    assert bb.blocks[0].attn.qkv.act_bits == 8
    assert bb.blocks[0].attn.products.bits == 8
    a4 = build("binarybert-a4")
    assert a4.blocks[0].sublayer.up.act_bits == 4
    assert a4.blocks[0].attn.products.operand_bits == (4, 4)
    assert build("beexformer-a1").blocks[0].attn.qkv.act_bits == 1
    fp = build("fp-transformer")
    assert not any(isinstance(m, BinaryLinear) for m in fp.modules())


def test_quantized_attention_puts_its_operands_on_b_bit_levels(monkeypatch):
    """Q, K, V and the probabilities reach the products with at most 2^b - 1 values each."""
    from beexbench.models.attention import AttentionProducts

    torch.manual_seed(0)
    products = AttentionProducts(4, dropout=0.0).eval()
    q, k, v = (torch.randn(2, 2, 7, 8) for _ in range(3))
    seen = []
    original = torch.Tensor.__matmul__

    def spy(a, b):
        seen.extend([a, b])
        return original(a, b)

    monkeypatch.setattr(torch.Tensor, "__matmul__", spy)
    y = products(q, k, v, None)
    monkeypatch.undo()
    assert y.shape == (2, 2, 7, 8)
    assert len(seen) == 4  # Q K^T, then probabilities x V
    for operand in seen:
        assert operand.unique().numel() <= 2 ** 4 - 1
    fp = AttentionProducts(32, dropout=0.0).eval()
    assert torch.allclose(fp(q, k, v, None),
                          torch.nn.functional.scaled_dot_product_attention(q, k, v))
