"""The packed runtime gives the fake-quantized model's predictions, with real exits."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from conftest import native_or_skip

from beexbench.measure.evaluate import apply_policy, record_exits
from beexbench.models.artifact import export_packed
from beexbench.models.exits import make_policy
from beexbench.models.transformer import EncoderClassifier
from beexbench.runtimes.packed.engine import NativeBlock, NativeInfer
from beexbench.runtimes.packed.kernels import fallback_backend
from beexbench.runtimes.packed.layers import PackedLinear
from beexbench.runtimes.packed.runtime import load_packed_runtime, to_packed
from beexbench.train.loop import TrainRequest, train_model

BINARY = ("beexformer", "beexformer-a1", "binarybert", "binarybert-a4")


@pytest.fixture(scope="module", params=["native", "fallback"])
def backend(request):
    if request.param == "fallback":
        return fallback_backend("test")
    return native_or_skip()


@pytest.fixture(scope="module")
def eval_ids():
    torch.manual_seed(1)
    ids = torch.randint(3, 150, (96, 30))
    lengths = torch.randint(4, 31, (96,))
    for i, n in enumerate(lengths.tolist()):
        ids[i, n:] = 0
    return ids, lengths


@pytest.mark.parametrize("name", BINARY)
def test_packed_matches_fake_quant_on_every_exit(name, backend, eval_ids, tmp_path,
                                                 checkpoint_cache):
    ckpt = train_model(TrainRequest(name, "synthetic-2", "tiny"), quiet=True)
    path = tmp_path / f"{name}.safetensors"
    export_packed(ckpt.model, name, path)
    packed = load_packed_runtime(path, backend)
    assert any(isinstance(m, PackedLinear) for m in packed.modules())
    ids, lengths = eval_ids
    with torch.no_grad():
        ref, got = ckpt.model(ids), packed(ids)
    assert torch.equal(ref.argmax(-1), got.argmax(-1))
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    policy = make_policy(ckpt.model_policy if hasattr(ckpt, "model_policy") else "final")
    if len(ckpt.model.exit_blocks) > 1:
        policy = make_policy("beex-entropy-drop",
                             ckpt.policy_param("beex-entropy-drop"))
    # Its exits as the packed model's own per-exit outputs give them: packed and
    # fake-quant logits agree to 1e-4 (above), not bit for bit, and an entropy that close
    # to a policy's threshold may fall on either side.
    expected = apply_policy(record_exits(packed, ids, lengths), policy)
    batched = packed.infer(ids, policy)
    assert torch.equal(batched.exit_layer, expected.exit_layer)
    assert torch.equal(batched.logits.argmax(-1), expected.pred_policy)
    for i in range(0, 96, 7):  # batch 1 at the sample's real length
        one = packed.infer(ids[i:i + 1, :int(lengths[i])], policy)
        assert int(one.exit_layer) == int(expected.exit_layer[i])


@pytest.mark.parametrize("name", (*BINARY, "fp-transformer", "fp-transformer-ee"))
def test_native_block_engine_is_bit_identical_to_the_module_path(name, eval_ids,
                                                                  checkpoint_cache):
    native = native_or_skip()
    ckpt = train_model(TrainRequest(name, "synthetic-2", "tiny"), quiet=True)
    fused = to_packed(copy.deepcopy(ckpt.model), native)
    modules = to_packed(copy.deepcopy(ckpt.model), dataclasses.replace(native, engine=None))
    assert all(isinstance(block, NativeBlock) for block in fused.blocks)
    assert not any(isinstance(block, NativeBlock) for block in modules.blocks)
    ids, lengths = eval_ids
    policy = make_policy("final")
    with torch.no_grad():
        assert torch.equal(fused(ids), modules(ids))  # padded: attention mask in use
        x, pool, mask = fused.embed(ids)
        want_x, want_pool, want_mask = modules.embed(ids)
        assert torch.equal(x, want_x) and torch.equal(pool, want_pool)
        assert torch.equal(mask, want_mask)
        assert fused.embed(ids[:1, :int(lengths[0])])[2] is None  # no padding: no mask
        for key, head in fused.exit_heads.items():
            want = modules.exit_heads[key].predict(x, pool)
            for got, expected in zip(head.predict(x, pool), want, strict=True):
                assert torch.equal(got, expected)
        for i in range(0, 96, 11):  # batch 1, no padding: no mask
            one = ids[i:i + 1, :int(lengths[i])]
            assert torch.equal(fused.infer(one, policy).logits, modules.infer(one, policy).logits)


@pytest.mark.parametrize("name", ("beexformer-a1", "fp-transformer-ee"))
def test_native_infer_exits_as_the_python_loop(name, eval_ids, checkpoint_cache):
    native = native_or_skip()
    ckpt = train_model(TrainRequest(name, "synthetic-2", "tiny"), quiet=True)
    fused = to_packed(copy.deepcopy(ckpt.model), native)
    assert isinstance(fused.infer, NativeInfer)
    ids, lengths = eval_ids
    policies = [make_policy("final"), make_policy("pabee-patience", 1),
                make_policy("pabee-patience", 2)]
    # Entropy thresholds at the samples' own entropies: ties decide as torch decides them.
    with torch.no_grad():
        entropy = record_exits(ckpt.model, ids, lengths).entropy
    for tau in (float(entropy[0].median()), float(entropy[1].quantile(0.3)), 0.02):
        policies.append(make_policy("deebert-entropy", tau))
    drops = ((entropy[:-1] - entropy[1:]) / entropy[:-1]).flatten()
    for delta in (float(drops.median()), float(drops.quantile(0.8)), 0.0, 0.7):
        policies.append(make_policy("beex-entropy-drop", delta))
    mixed = 0  # policies under which samples leave at different blocks
    with torch.no_grad():
        for policy in policies:
            want = EncoderClassifier.infer(fused, ids, policy)
            got = fused.infer(ids, policy)
            assert torch.equal(got.exit_layer, want.exit_layer), policy.describe()
            assert torch.equal(got.used_exit, want.used_exit), policy.describe()
            assert torch.equal(got.logits, want.logits), policy.describe()
            mixed += len(set(want.exit_layer.tolist())) > 1
            for i in range(0, 96, 13):
                one = ids[i:i + 1, :int(lengths[i])]
                want, got = EncoderClassifier.infer(fused, one, policy), fused.infer(one, policy)
                assert torch.equal(got.logits, want.logits) and torch.equal(got.used_exit,
                                                                            want.used_exit)
    assert mixed >= 3
