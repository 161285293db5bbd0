"""Each exit policy on hand-made entropy and prediction sequences."""

import torch

from beexbench.models.exits import make_policy, simulate


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
