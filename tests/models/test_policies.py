"""Each exit policy on hand-made entropy and prediction sequences."""

import pytest
import torch

from beexbench.bench.predictions import encode_split
from beexbench.data.registry import load_dataset
from beexbench.measure.evaluate import record_exits
from beexbench.models.exits import POLICIES, FixedDepth, make_policy, simulate


def run(policy, entropies, preds):
    e = torch.tensor(entropies, dtype=torch.float32).T  # [n_exits, B]
    p = torch.tensor(preds).T
    out = simulate(policy, e, p)
    return (out.stop_index + 1).tolist(), (out.use_index + 1).tolist()


def test_entropy_drop_stops_when_entropy_stops_falling_and_uses_the_better_exit():
    policy = make_policy("beex-entropy-drop", 0.1)
    entropies = [
        [0.9, 0.5, 0.45, 0.2],  # drop 44%, then 10% (not < 0.1), then 56%... stops? see below
        [0.9, 0.5, 0.6, 0.1],  # rises at 3: stop at 3, predict with 2
        [0.9, 0.89, 0.5, 0.1],  # drop 1.1% at 2: stop at 2, predict with 2
        [0.9, 0.6, 0.3, 0.1],  # keeps falling: runs to the end
    ]
    preds = [[0] * 4] * 4
    stop, use = run(policy, entropies, preds)
    # row 0: (0.5-0.45)/0.5 = 0.1, not < 0.1 -> continue; (0.45-0.2)/0.45 > 0.1 -> end
    assert stop == [4, 3, 2, 4]
    assert use == [4, 2, 2, 4]


def test_entropy_drop_never_stops_at_the_first_exit():
    policy = make_policy("beex-entropy-drop", 0.99)
    stop, _ = run(policy, [[0.0, 0.0, 0.0]], [[1, 1, 1]])
    assert stop == [2]


def test_deebert_stops_at_first_exit_below_tau():
    policy = make_policy("deebert-entropy", 0.3)
    stop, use = run(policy, [[0.5, 0.29, 0.1], [0.2, 0.9, 0.9], [0.9, 0.8, 0.7]],
                    [[0, 0, 0]] * 3)
    assert stop == [2, 1, 3]
    assert use == stop


def test_pabee_stops_after_t_unchanged_predictions():
    policy = make_policy("pabee-patience", 2)
    preds = [[1, 1, 1, 0, 0], [1, 0, 0, 0, 1], [1, 0, 1, 0, 1]]
    stop, use = run(policy, [[0.5] * 5] * 3, preds)
    assert stop == [3, 4, 5]
    assert use == stop


def test_final_never_exits_early():
    stop, use = run(make_policy("final"), [[0.0, 0.0, 0.0]], [[1, 1, 1]])
    assert stop == [3] and use == [3]


def _plain(policy, entropy, preds):
    """The policy's plain-number rule run over exits [n, B], sample by sample."""
    rule = policy.rule()
    stop_at, used = [], []
    for b in range(entropy.shape[1]):
        ent = entropy[:, b].numpy()  # float32 scalars, as a stage graph returns them
        classes = [int(c) for c in preds[:, b]]
        for i in range(entropy.shape[0]):
            stop, use = rule(list(ent[: i + 1]), classes[: i + 1])
            if stop or i == entropy.shape[0] - 1:  # the last exit stops everyone
                stop_at.append(i)
                used.append(use)
                break
    return stop_at, used


def _settings():
    """Every built-in policy at every grid value, and the fixed depths."""
    out = [(name, value) for name in POLICIES.names()
           if (cls := POLICIES.get(name)) is not FixedDepth
           for value in (cls.grid or (None,))]
    return out + [("fixed-depth", k) for k in (1, 2, 3)]


@pytest.mark.parametrize("padded", [False, True], ids=["batch-1", "padded"])
def test_plain_rule_decides_as_the_tensor_form_on_every_sample(tiny_checkpoint, padded):
    """The lean loops' rule, on a trained model's real exits (and on hand-made edge
    cases: ties, rises, zero entropy), equals `decide` for every sample and setting."""
    ckpt = tiny_checkpoint
    enc = encode_split(ckpt, load_dataset("synthetic-2"), "test")
    if padded:
        record = record_exits(ckpt.model, enc.ids, enc.lengths)
    else:
        rows = [record_exits(ckpt.model, enc.ids[i:i + 1, :int(enc.lengths[i])],
                             enc.lengths[i:i + 1]) for i in range(len(enc.sample_ids))]
        record = type(rows[0])(rows[0].exit_blocks, torch.cat([r.preds for r in rows], 1),
                               torch.cat([r.entropy for r in rows], 1))
    # ties, zero entropy, a rise, steady 5 % falls, and a small rise at the last exit
    # (below a negative delta's bar: the last exit stops it with the rule's choice)
    edge_e = torch.tensor([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.3, 0.6, 0.2],
                           [0.7, 0.7 * 0.95, 0.7 * 0.95 * 0.95], [0.5, 0.4, 0.41]],
                          dtype=torch.float32).T
    edge_p = torch.tensor([[0, 0, 0], [1, 1, 0], [0, 1, 1], [1, 1, 1], [0, 1, 0]]).T
    n = record.entropy.shape[0]
    entropy = torch.cat([record.entropy, edge_e[:n]], 1)
    preds = torch.cat([record.preds, edge_p[:n]], 1)
    assert entropy.shape[1] > 50
    for name, value in _settings():
        policy = make_policy(name, value)
        out = simulate(policy, entropy, preds)
        stop, use = _plain(policy, entropy, preds)
        assert out.stop_index.tolist() == stop, (name, value)
        assert out.use_index.tolist() == use, (name, value)


def test_fixed_depth_stops_at_its_exit_and_names_its_rows():
    policy = make_policy("fixed-depth", 2)
    stop, use = run(policy, [[0.9, 0.9, 0.9], [0.0, 0.0, 0.0]], [[0, 1, 1]] * 2)
    assert stop == [2, 2] and use == [2, 2]
    assert policy.label == "fixed-depth-2" and policy.name == "fixed-depth"
