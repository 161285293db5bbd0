import torch

from beexbench.models.dropout import dropout


def test_drop_rate_and_scale_match_p():
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    y = dropout(x, 0.1)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - 0.1) < 0.002
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 65536 / (65536 - 6554)))
    assert abs(y.mean().item() - 1.0) < 0.005  # expectation preserved


def test_eval_mode_and_zero_p_are_identity():
    x = torch.randn(4, 5)
    assert dropout(x, 0.3, training=False) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))


def test_reproducible_under_manual_seed_and_odd_sizes():
    x = torch.randn(3, 7, 5)  # 105 elements: not a multiple of four
    torch.manual_seed(1)
    a = dropout(x, 0.5)
    torch.manual_seed(1)
    b = dropout(x, 0.5)
    assert torch.equal(a, b) and a.shape == x.shape


def test_gradient_is_the_mask_times_the_scale():
    x = torch.randn(50, 40, requires_grad=True)
    torch.manual_seed(2)
    y = dropout(x, 0.2)
    y.sum().backward()
    expected = (y.detach() != 0).float() * (65536 / (65536 - 13107))
    assert torch.allclose(x.grad, expected)
