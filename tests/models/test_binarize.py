import pytest
import torch

from beexbench.models.binarize import (
    ApproxSign,
    BinaryEmbedding,
    BinaryLinear,
    hard_sign,
    quantize_activation,
)


def test_sign_of_zero_is_plus_one():
    assert hard_sign(torch.tensor([0.0, -0.0, 1e-9, -1e-9])).tolist() == [1, 1, 1, -1]


def test_approx_sign_gradient_is_two_minus_two_abs_inside_zero_outside():
    x = torch.tensor([-1.5, -1.0, -0.75, -0.25, 0.0, 0.3, 0.9, 1.0, 2.0], requires_grad=True)
    y = ApproxSign.apply(x)
    assert y.tolist() == [-1, -1, -1, -1, 1, 1, 1, 1, 1]
    y.sum().backward()
    expected = torch.where(x.abs() <= 1, 2 - 2 * x.abs(), torch.zeros_like(x)).detach()
    assert torch.allclose(x.grad, expected)
    assert x.grad[0] == 0 and x.grad[-1] == 0
    assert x.grad[4] == pytest.approx(2.0)


def test_binary_linear_forward_weights_are_exactly_plus_minus_alpha():
    layer = BinaryLinear(7, 5)
    wb = layer.binary_weight().detach()
    alpha = layer.alpha.detach().unsqueeze(1)
    assert torch.equal(wb.abs(), alpha.expand_as(wb))
    assert torch.equal(torch.sign(wb), hard_sign(layer.weight.detach()))
    assert torch.allclose(layer.alpha, layer.weight.abs().mean(dim=1))


def test_binary_linear_gradients_reach_alpha_and_latent_weights():
    torch.manual_seed(0)
    layer = BinaryLinear(8, 4)
    with torch.no_grad():
        layer.weight.mul_(0.1)  # keep latent weights inside [-1, 1], where F' is non-zero
    x = torch.randn(3, 8)
    layer(x).pow(2).sum().backward()
    assert layer.alpha.grad is not None and layer.alpha.grad.abs().sum() > 0
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    # d out / d W_rc goes through alpha_r * F'(W_rc): check one entry by the chain rule.
    w = layer.weight.detach()
    g_out = 2 * layer(x).detach()  # d(sum y^2)/dy
    d_wb = g_out.T @ x  # dL/d(Wb)
    expected = d_wb * layer.alpha.detach().unsqueeze(1) * (2 - 2 * w.abs()).clamp_min(0)
    assert torch.allclose(layer.weight.grad, expected, atol=1e-5)
    expected_alpha = (d_wb * hard_sign(w)).sum(1)
    assert torch.allclose(layer.alpha.grad, expected_alpha, atol=1e-5)


def test_binary_embedding_rows_are_plus_minus_their_alpha():
    emb = BinaryEmbedding(10, 6)
    ids = torch.tensor([[1, 3, 3, 9]])
    out = emb(ids).detach()
    assert torch.equal(out.abs(), emb.alpha.detach()[ids].unsqueeze(-1).expand_as(out))


@pytest.mark.parametrize("bits", [8, 4])
def test_fake_quant_has_at_most_2_pow_bits_levels(bits):
    x = torch.randn(1000)
    q = quantize_activation(x, bits)
    assert q.unique().numel() <= 2 ** bits - 1
    assert (q - x).abs().max() <= x.abs().max() / (2 ** (bits - 1) - 1)


def test_one_bit_activations_are_signs():
    x = torch.randn(50)
    assert set(quantize_activation(x, 1).tolist()) <= {-1.0, 1.0}
