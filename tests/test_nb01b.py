"Tests for exp.nb_01b: every compiled matmul rung and kernel against torch, the argument checks, the peak and the ladder helpers."
import math, time

import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st

from strategies import matmul_pair

import exp.nb_01 as nb01
import exp.nb_01b as nb

RUNGS = list(nb.COMPILED_RUNGS.values())
ids = list(nb.COMPILED_RUNGS)
# the kernels behind the rungs, called directly so the threaded ones run on small shapes too
KERNELS = {'loops': nb._loops_kernel, 'ikj': nb._ikj_kernel, 'fastmath': nb._fastmath_kernel,
           'parallel': nb._parallel_kernel, 'tiled': nb._tiled_kernel,
           'micro': nb._micro_kernel, 'micro_parallel': nb._micro_kernel_parallel}


def assert_matmul_close(c, a, b):
    "`c` equals `a @ b` up to the rounding of a different order of additions."
    tol = 1e-4 if a.dtype == torch.float32 else 1e-10
    torch.testing.assert_close(c, a @ b, rtol=tol, atol=tol * max(1, math.sqrt(a.shape[1])))


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@settings(deadline=None, max_examples=25)
@given(pair=matmul_pair(max_dim=40))
def test_rung_matches_torch(matmul, pair):
    a,b = pair
    a0,b0 = a.clone(),b.clone()
    c = matmul(a, b)
    assert c.shape == (a.shape[0], b.shape[1]) and c.dtype == a.dtype
    assert_matmul_close(c, a, b)
    assert torch.equal(a, a0) and torch.equal(b, b0), "the inputs must not change"


@pytest.mark.parametrize('name', list(KERNELS))
@settings(deadline=None, max_examples=20)
@given(pair=matmul_pair(max_dim=45))
def test_kernel_matches_torch(name, pair):
    a,b = (t.contiguous() for t in pair)
    c = torch.from_numpy(KERNELS[name](a.numpy(), b.numpy()))
    assert c.dtype == a.dtype
    assert_matmul_close(c, a, b)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('shapes', [((1, 7), (7, 1)), ((7, 1), (1, 7)), ((1, 5), (5, 4)), ((4, 5), (5, 1)),
                                    ((0, 3), (3, 2)), ((3, 0), (0, 2)), ((3, 2), (2, 0)), ((0, 0), (0, 0)),
                                    ((67, 131, ), (131, 29)), ((130, 70), (70, 61))])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_edge_shapes(matmul, shapes, dtype):
    torch.manual_seed(0)
    a,b = torch.randn(*shapes[0], dtype=dtype),torch.randn(*shapes[1], dtype=dtype)
    c = matmul(a, b)
    assert c.shape == (shapes[0][0], shapes[1][1]) and c.dtype == dtype
    assert_matmul_close(c, a, b)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_threaded_path(matmul):
    "Products above PARALLEL_MIN_WORK take the threaded kernels; sizes that are not multiples of the blocks."
    torch.manual_seed(0)
    a,b = torch.randn(203, 77),torch.randn(77, 35)
    assert not nb._small(a, b)
    assert_matmul_close(matmul(a, b), a, b)


def test_tiles_and_packing_on_bigger_shapes():
    "Several panels in the tiled kernel; the blocked packing of a big `b`."
    torch.manual_seed(0)
    a,b = torch.randn(5, 70),torch.randn(70, 4096)            # panels of 32 rows of b: 3 of them
    assert nb.TILE_BYTES // (4096 * 4) < 70
    assert_matmul_close(torch.from_numpy(nb._tiled_kernel(a.numpy(), b.numpy())), a, b)
    a,b = torch.randn(9, 4096),torch.randn(4096, 150)           # panels of 64 columns of c in the micro-kernel: 3 of them
    assert nb._panel(nb._pack_transposed(b.numpy())) == 64
    for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b.numpy())), a, b)
    big = np.random.default_rng(0).standard_normal((301, 257)).astype(np.float32)
    assert big.size > 2**16
    assert np.array_equal(nb._pack_transposed(big), big.T)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_transposed_and_grad_inputs(matmul):
    torch.manual_seed(0)
    a,b = torch.randn(6, 4).T,torch.randn(3, 6).T
    assert not a.is_contiguous() and not b.is_contiguous()
    assert_matmul_close(matmul(a, b), a.contiguous(), b.contiguous())
    w = torch.randn(4, 6, requires_grad=True)
    with torch.no_grad(): assert_matmul_close(matmul(w, b), w.detach(), b)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_grad_inputs_need_no_grad_mode(matmul):
    "A kernel's result cannot carry a gradient: with autograd recording, an input that requires one is an error."
    w = torch.randn(4, 6, requires_grad=True)
    for a,b in ((w, torch.randn(6, 3)), (torch.randn(3, 4), w)):
        with pytest.raises(ValueError, match=r'requires grad.*\.detach\(\).*torch\.no_grad\(\)'): matmul(a, b)
        with torch.no_grad(): c = matmul(a, b)
        assert not c.requires_grad
        assert_matmul_close(matmul(a.detach(), b.detach()), a.detach(), b.detach())


BAD = [(torch.randn(3), torch.randn(3, 2)), (torch.randn(2, 3, 4), torch.randn(4, 2)),
       (torch.randn(2, 3), torch.randn(4, 5)), (torch.randn(2, 3), torch.randn(3, 2, dtype=torch.float64)),
       ([[1., 2.]], torch.randn(2, 2))]


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('a,b', BAD)
def test_same_argument_errors_as_notebook_01(matmul, a, b):
    with pytest.raises(ValueError) as ours: matmul(a, b)
    with pytest.raises(ValueError) as theirs: nb01.matmul_loops(a, b)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_compiled_only_errors(matmul):
    with pytest.raises(ValueError, match='float32 or float64'): matmul(torch.ones(2, 3, dtype=torch.int64), torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match='CPU'): matmul(torch.ones(2, 3, device='meta'), torch.ones(3, 2, device='meta'))


def test_ladder_dicts():
    assert list(nb.LADDER)[:5] == list(nb01.RUNGS)
    assert set(nb.COMPILED_RUNGS) <= set(nb.LADDER)


