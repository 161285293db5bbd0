"""Packed sign layout and the 1-bit kernels (native build and pure-torch fallback)."""

from __future__ import annotations

import pytest
import torch
from conftest import native_or_skip

from beexbench.core import log
from beexbench.core.errors import UsageError
from beexbench.models.bitpack import pack_signs, unpack_signs, words_for
from beexbench.runtimes.packed import kernels

# (batch, n, m): n off the 64-bit grid and odd m exercise padding and row tails;
# batch 4 and 5 cover the 4-row activation tiles and their remainder.
# Rows of 1, 2 and 4 words take the short-row kernel (with scalar leftover rows).
SHAPES = [(1, 37, 5), (3, 100, 7), (4, 130, 9), (5, 64, 3), (1, 768, 33), (9, 200, 17),
          (3, 60, 19), (2, 128, 384), (4, 256, 6), (25, 128, 8)]


def signs(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t >= 0, 1.0, -1.0)


@pytest.fixture(scope="module")
def native() -> kernels.Backend:
    return native_or_skip()


@pytest.fixture(params=["native", "fallback"])
def backend(request: pytest.FixtureRequest) -> kernels.Backend:
    if request.param == "native":
        return request.getfixturevalue("native")
    return kernels.fallback_backend()


def operands(batch: int, n: int, m: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, n, generator=gen)
    w = torch.randn(m, n, generator=gen)
    # Exact zeros (both signs of zero) must binarize to +1.
    x[:, ::7] = 0.0
    x[:, 3::11] = -0.0
    w[::2, ::5] = 0.0
    alpha = torch.rand(m, generator=gen) + 0.1
    return x, w, alpha


def with_dirty_padding(packed: torch.Tensor, n: int) -> torch.Tensor:
    """Set every padding bit of the last word to 1 (a layout the kernels must ignore)."""
    rem = n % 64
    if rem == 0:
        return packed
    dirty = packed.clone()
    dirty[:, -1] |= ~((1 << rem) - 1)
    return dirty


# --- layout -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(37,), (64,), (65,), (5, 130), (2, 3, 100)])
def test_pack_unpack_round_trip(shape):
    w = torch.randn(*shape)
    w.view(-1)[::3] = 0.0
    packed = pack_signs(w)
    assert packed.dtype == torch.int64
    assert packed.shape == (*shape[:-1], words_for(shape[-1]))
    assert torch.equal(unpack_signs(packed, shape[-1]), signs(w))


def test_pack_bit_order_and_padding():
    # Little-endian: element j is bit j; +1 (and +-0) is a 1 bit; padding is 0.
    assert pack_signs(torch.tensor([0.0, -0.0, -1.0, 1.0])).tolist() == [0b1011]
    assert pack_signs(-torch.ones(64)).tolist() == [0]
    assert pack_signs(torch.ones(64)).tolist() == [-1]  # all 64 bits set
    last = torch.full((65,), -1.0)
    last[63] = 2.0
    last[64] = 2.0
    assert pack_signs(last).tolist() == [-(2**63), 1]


def test_pack_rejects_bad_input():
    with pytest.raises(UsageError):
        pack_signs(torch.ones(4, dtype=torch.int32))
    with pytest.raises(UsageError):
        unpack_signs(pack_signs(torch.ones(100)), 200)
    with pytest.raises(UsageError):
        unpack_signs(torch.zeros(2, dtype=torch.int32), 64)


# --- kernels --------------------------------------------------------------------------

@pytest.mark.parametrize("batch,n,m", SHAPES)
def test_w1a1_exact(backend, batch, n, m):
    x, w, alpha = operands(batch, n, m)
    expected = (signs(x) @ signs(w).T) * alpha
    packed = pack_signs(w)
    assert torch.equal(backend.w1a1(x, packed, n, alpha), expected)
    assert torch.equal(backend.w1a1(x, with_dirty_padding(packed, n), n, alpha), expected)


@pytest.mark.parametrize("batch,n,m", SHAPES)
def test_w1a32_close(backend, batch, n, m):
    x, w, alpha = operands(batch, n, m, seed=1)
    expected = x.double() @ (alpha.double()[:, None] * signs(w).double()).T
    packed = pack_signs(w)
    for weights in (packed, with_dirty_padding(packed, n)):
        got = backend.w1a32(x, weights, n, alpha)
        assert got.dtype == torch.float32 and got.shape == (batch, m)
        torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-4)


def test_kernels_multithreaded(backend):
    # Large enough that the native kernels split the rows over threads.
    x, w, alpha = operands(8, 1000, 522, seed=2)
    packed = pack_signs(w)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        got1 = backend.w1a1(x, packed, 1000, alpha)
        got32 = backend.w1a32(x, packed, 1000, alpha)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(got1, (signs(x) @ signs(w).T) * alpha)
    expected = x.double() @ (alpha.double()[:, None] * signs(w).double()).T
    torch.testing.assert_close(got32.double(), expected, rtol=1e-5, atol=1e-3)


def test_native_agrees_with_fallback(native):
    x, w, alpha = operands(6, 300, 41, seed=3)
    packed = pack_signs(w)
    fallback = kernels.fallback_backend()
    assert torch.equal(native.w1a1(x, packed, 300, alpha), fallback.w1a1(x, packed, 300, alpha))
    torch.testing.assert_close(native.w1a32(x, packed, 300, alpha),
                               fallback.w1a32(x, packed, 300, alpha), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("batch,n,m", [(1, 128, 384), (3, 100, 7), (2, 130, 9)])
def test_bias_is_added_after_the_product(backend, batch, n, m):
    x, w, alpha = operands(batch, n, m, seed=4)
    bias = torch.randn(m)
    packed = pack_signs(w)
    # Exactly the two roundings of `kernel(...) + bias`: no fused multiply-add.
    assert torch.equal(backend.w1a1(x, packed, n, alpha, bias),
                       backend.w1a1(x, packed, n, alpha) + bias)
    assert torch.equal(backend.w1a32(x, packed, n, alpha, bias),
                       backend.w1a32(x, packed, n, alpha) + bias)


@pytest.mark.parametrize("n", [37, 64, 128, 200])
def test_embedding_rows_are_scaled_signs(backend, n):
    gen = torch.Generator().manual_seed(5)
    table = torch.randn(50, n, generator=gen)
    table[::3, ::4] = 0.0
    alpha = torch.rand(50, generator=gen)
    ids = torch.tensor([0, 49, 7, 7, 3])
    expected = alpha[ids].unsqueeze(-1) * signs(table[ids])
    packed = pack_signs(table)
    assert torch.equal(backend.embedding(packed, n, alpha, ids), expected)
    assert torch.equal(backend.embedding(with_dirty_padding(packed, n), n, alpha, ids), expected)
    assert backend.embedding(packed, n, alpha, ids[:0]).shape == (0, n)


def test_embedding_validates_input(backend):
    packed, alpha = pack_signs(torch.randn(10, 20)), torch.rand(10)
    bad = [
        (packed, 20, alpha, torch.tensor([10])),         # id out of range
        (packed, 20, alpha, torch.tensor([-1])),         # negative id
        (packed, 20, alpha, torch.tensor([[1, 2]])),     # not 1-D
        (packed, 20, alpha, torch.tensor([1.0])),        # ids dtype
        (packed, 20, alpha[:5].contiguous(), torch.tensor([1])),  # alpha length
        (packed, 200, alpha, torch.tensor([1])),         # n disagrees with words
    ]
    for args in bad:
        with pytest.raises(UsageError):
            backend.embedding(*args)


@pytest.mark.parametrize("op", ["w1a1", "w1a32"])
def test_kernels_validate_input(backend, op):
    x, w, alpha = operands(2, 100, 5)
    packed = pack_signs(w)
    call = getattr(backend, op)
    bad = [
        (x.double(), packed, 100, alpha),            # dtype
        (x, packed.int(), 100, alpha),               # weight dtype
        (x.T.contiguous().T, packed, 100, alpha),     # non-contiguous
        (x, packed, 99, alpha),                      # n disagrees with x
        (x[:, :64].contiguous(), packed, 64, alpha),  # words disagree with n
        (x, packed, 100, alpha[:4].contiguous()),    # alpha length
        (x[0], packed, 100, alpha),                  # x not [B, n]
        (x, packed, 100, alpha, torch.zeros(4)),     # bias length
        (x, packed, 100, alpha, torch.zeros(5, dtype=torch.float64)),  # bias dtype
    ]
    for args in bad:
        with pytest.raises(UsageError):
            call(*args)


# --- backend selection ------------------------------------------------------------------

@pytest.fixture
def fresh_backend_cache():
    kernels.get_backend.cache_clear()
    yield
    kernels.get_backend.cache_clear()


def test_env_forces_fallback(monkeypatch, fresh_backend_cache):
    monkeypatch.setenv(kernels.BACKEND_ENV, "fallback")
    assert kernels.get_backend().name == "packed-fallback"


def test_env_rejects_unknown_backend(monkeypatch, fresh_backend_cache):
    monkeypatch.setenv(kernels.BACKEND_ENV, "gpu")
    with pytest.raises(UsageError):
        kernels.get_backend()


def test_failed_build_falls_back_with_one_line(monkeypatch, capsys, fresh_backend_cache):
    def broken() -> kernels.Backend:
        raise RuntimeError("Error building extension 'x'\nkernels.cpp:1:2: error: boom\nmore")

    monkeypatch.delenv(kernels.BACKEND_ENV, raising=False)
    monkeypatch.setattr(kernels, "build_native", broken)
    log.configure(log.QUIET)  # as the CLI sets up its output; a warning passes even -q
    try:
        backend = kernels.get_backend()
    finally:
        log.configure(log.NORMAL)
    assert backend.name == "packed-fallback"
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "could not be built (kernels.cpp:1:2: error: boom)" in err
    assert "pure-torch fallback" in err
