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


def test_tiles_and_panels_on_bigger_shapes():
    "Several panels in the tiled kernel; several panels of columns of `c` in the micro-kernel."
    torch.manual_seed(0)
    a,b = torch.randn(5, 70),torch.randn(70, 4096)            # panels of 32 rows of b: 3 of them
    assert nb.TILE_BYTES // (4096 * 4) < 70
    assert_matmul_close(torch.from_numpy(nb._tiled_kernel(a.numpy(), b.numpy())), a, b)
    a,b = torch.randn(9, 4096),torch.randn(4096, 600)           # 4 blocks of depth of 1,024 terms, several panels of columns of c
    p = nb._panel(nb._buffers(a.numpy(), b.numpy())[1][0])
    assert p == nb.PANEL_BYTES // (1024 * 4) and 600 > 2 * p and 600 % p
    for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b.numpy())), a, b)


@pytest.mark.parametrize('itemsize', [4, 8])
def test_depth_blocks(itemsize):
    "The fewest blocks of at most DEPTH_BYTES per row, all of one length, that hold the whole sum."
    most = nb.DEPTH_BYTES // itemsize
    for k in [0, 1, 7, most - 1, most, most + 1, 2 * most, 2 * most + 1, 5 * most - 3, 100_000]:
        nk,kd = nb._depth(k, itemsize)
        assert nk == max(1, -(-k // most)), k
        assert kd * itemsize <= nb.DEPTH_BYTES and nk * kd >= k, (k, nk, kd)
        assert nk == 1 or (nk - 1) * kd < k, "no block left empty"


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('cols', [13, 300])                      # b under PANEL_BYTES (one pass) and over it
def test_packing(dtype, cols):
    "Packed a and b hold a's rows and b's columns block of depth after block, zeros past their end; one block is a itself."
    rng = np.random.default_rng(0)
    k = nb.DEPTH_BYTES // np.dtype(dtype).itemsize * 2 + 3        # 3 blocks, the last one padded
    a,b = rng.standard_normal((7, k)).astype(dtype),rng.standard_normal((k, cols)).astype(dtype)
    assert (b.nbytes <= nb.PANEL_BYTES) == (cols == 13)
    ap,bt,c = nb._buffers(a, b)
    nk,kd = nb._depth(k, a.itemsize)
    assert ap.shape == (nk, 7, kd) and bt.shape == (nk, cols, kd) and c.shape == (7, cols) and nk == 3
    nb._pack_rows(ap, a, 0, 4); nb._pack_rows(ap, a, 4, 7)       # in tasks, as threads would
    for j0 in range(0, cols, nb.PACK_COLS): nb._pack_cols(bt, b, j0, min(j0 + nb.PACK_COLS, cols))
    flat = lambda p: p.transpose(1, 0, 2).reshape(p.shape[1], nk * kd)
    assert np.array_equal(flat(ap), np.pad(a, ((0, 0), (0, nk * kd - k))))
    assert np.array_equal(flat(bt), np.pad(b.T, ((0, 0), (0, nk * kd - k))))
    ap1,bt1,_ = nb._buffers(a, b)
    nb._pack(ap1, bt1, a, b)                                     # on one core, as the one-core kernel packs
    assert np.array_equal(ap1, ap) and np.array_equal(bt1, bt)
    small = a[:, :5].copy()
    assert np.shares_memory(nb._buffers(small, b[:5])[0], small), "one block of depth: no copy of a"


def test_packing_an_empty_last_block():
    "A block of depth past the end of a and b (possible only in buffers laid out by hand) is all zeros."
    a,b = np.ones((2, 4), np.float32),np.ones((4, 3), np.float32)
    ap,bt = np.full((3, 2, 2), np.nan, np.float32),np.full((3, 3, 2), np.nan, np.float32)
    nb._pack_rows(ap, a, 0, 2); nb._pack_cols(bt, b, 0, 3)
    assert np.array_equal(ap[2], np.zeros((2, 2))) and np.array_equal(bt[2], np.zeros((3, 2)))
    assert np.array_equal(ap[:2], np.ones((2, 2, 2))) and np.array_equal(bt[:2], np.ones((2, 3, 2)))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('shapes', [((37, 2500), (2500, 29)), ((3, 5000), (5000, 2)), ((130, 1025), (1025, 67))])
def test_micro_kernels_with_blocks_of_depth(dtype, shapes):
    "Sums cut into several blocks of depth, with leftover rows and columns, on one core and on all."
    torch.manual_seed(0)
    a,b = torch.randn(*shapes[0], dtype=dtype),torch.randn(*shapes[1], dtype=dtype)
    for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b.numpy())), a, b)
    assert_matmul_close(nb.matmul_micro(a, b), a, b)


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


