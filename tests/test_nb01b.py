"Tests for exp.nb_01b: every compiled matmul rung and kernel against torch, the argument checks, the peak and the ladder helpers."
import math, os, re, subprocess, sys, time

import numba, numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st

from strategies import matmul_pair

import exp.nb_01 as nb01
import exp.nb_01b as nb

RUNGS = list(nb.COMPILED_RUNGS.values())
ids = list(nb.COMPILED_RUNGS)
# the kernels behind the rungs, called directly so the threaded ones run on small shapes too
KERNELS = {'loops': nb._loops_kernel, 'ikj': nb._ikj_kernel, 'fastmath': nb._fastmath_kernel,
           'parallel': nb._parallel_kernel, 'tiled': nb._tiled_kernel,
           'micro': nb._micro_kernel, 'micro_parallel': nb._micro_kernel_parallel,
           'outer': nb._outer_kernel, 'outer_parallel': nb._outer_kernel_parallel}


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


THREADED = {'parallel': '_parallel_kernel', 'tiled': '_tiled_kernel', 'micro': '_micro_kernel_parallel', 'outer': '_outer_kernel_parallel'}   # rung: its threaded kernel

@pytest.mark.parametrize('name', ids)
def test_threaded_path(name, monkeypatch):
    "Products above PARALLEL_MIN_WORK take the threaded kernels; sizes that are not multiples of the blocks."
    calls = []
    if kernel := THREADED.get(name):
        threaded = getattr(nb, kernel)
        monkeypatch.setattr(nb, kernel, lambda a, b: calls.append(a.shape) or threaded(a, b))
    torch.manual_seed(0)
    a,b = torch.randn(203, 77),torch.randn(77, 35)
    assert not nb._small(a, b)
    assert_matmul_close(nb.COMPILED_RUNGS[name](a, b), a, b)
    assert calls == ([(203, 77)] if name in THREADED else []), f"{name}: the threaded kernel ran {len(calls)} times"


def test_tiles_and_panels_on_bigger_shapes():
    "Several panels in the tiled kernel; several panels of columns of `c` in the micro-kernel."
    torch.manual_seed(0)
    a,b = torch.randn(5, 70),torch.randn(70, 4096)            # panels of 32 rows of b: 3 of them
    assert nb.PANEL_BYTES // (4096 * 4) < 70
    assert_matmul_close(torch.from_numpy(nb._tiled_kernel(a.numpy(), b.numpy())), a, b)
    a,b = torch.randn(9, 4096),torch.randn(4096, 600)           # 4 blocks of depth of 1,024 terms, several panels of columns of c
    p = nb._panel(nb._buffers(a.numpy(), b.numpy())[0][0])
    assert p == nb.PANEL_BYTES // (1024 * 4) and 600 > 2 * p and 600 % p
    for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b.numpy())), a, b)
    a = torch.randn(9, 4001)                                    # 4 blocks of 1,008 terms, the last one 977, and several panels
    assert nb._depth(4001, 4) == (4, 1008)
    for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b[:4001].numpy())), a, b[:4001])


@pytest.mark.parametrize('itemsize', [4, 8])
def test_depth_blocks(itemsize):
    "The fewest blocks of at most DEPTH_BYTES per row, all of one length in whole cache lines, that hold the whole sum."
    most = nb.DEPTH_BYTES // itemsize
    for k in [0, 1, 7, most - 1, most, most + 1, 2 * most, 2 * most + 1, 5 * most - 3, 100_000]:
        nk,kd = nb._depth(k, itemsize)
        assert nk == 1 or (nk - 1) * most < k, (k, nk)     # the fewest: one block fewer could not hold the sum
        assert kd * itemsize <= nb.DEPTH_BYTES and nk * kd >= k, (k, nk, kd)
        assert kd * itemsize % 64 == 0, (k, kd)
        assert nk == 1 or (nk - 1) * kd < k, "no block left empty"


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_packed_b_starts_on_a_cache_line(dtype):
    "numba's arrays start on 32 bytes; the room for packed b always starts on 64, with the shape asked for."
    like = np.ones(1, dtype)
    for shape in [(1, 1, 1), (3, 7, 16), (2, 5, 1008), (1, 0, 0), (4, 13, 8)]:
        for _ in range(5):
            bt = nb._empty_on_a_line(*shape, like)
            assert bt.shape == shape and bt.dtype == dtype and bt.flags['C_CONTIGUOUS']
            assert bt.size == 0 or bt.ctypes.data % 64 == 0, (shape, bt.ctypes.data % 64)
            bt[...] = 1                                           # all of it is writable room
    a,b = np.ones((3, 2500), dtype),np.ones((2500, 5), dtype)
    assert nb._buffers(a, b)[0].ctypes.data % 64 == 0


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('cols', [3, 13, 300])                   # fewer columns than PACK_COLS, a tile and a part, many tiles
def test_packing(dtype, cols):
    "Packed b holds b's columns block of depth after block, the last block shorter; in tasks or on one core alike."
    rng = np.random.default_rng(0)
    k = nb.DEPTH_BYTES // np.dtype(dtype).itemsize * 2 + 3        # 3 blocks, the last one shorter
    a,b = rng.standard_normal((7, k)).astype(dtype),rng.standard_normal((k, cols)).astype(dtype)
    bt,c = nb._buffers(a, b)
    nk,kd = nb._depth(k, a.itemsize)
    last = k - (nk - 1) * kd
    assert bt.shape == (nk, cols, kd) and c.shape == (7, cols) and nk == 3 and 0 < last < kd
    for j0 in range(0, cols, nb.PACK_COLS): nb._pack_cols(bt, b, j0, min(j0 + nb.PACK_COLS, cols))   # in tasks, as threads would
    assert np.array_equal(bt.transpose(1, 0, 2).reshape(cols, nk * kd)[:, :k], b.T)
    bt1,_ = nb._buffers(a, b)
    nb._pack(bt1, b)                                             # on one core, as the one-core kernel packs
    assert np.array_equal(bt1[:2], bt[:2]) and np.array_equal(bt1[2, :, :last], bt[2, :, :last])   # the end of the last block is left unwritten: compare the terms packed


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_room_past_the_end_is_never_read(dtype):
    "A shorter last block of depth, and an empty one past the end (possible only in buffers laid out by hand): nothing packed there, nothing read."
    rng = np.random.default_rng(0)
    a,b = rng.standard_normal((6, 5)).astype(dtype),rng.standard_normal((5, 11)).astype(dtype)
    bt = np.full((4, 11, 2), np.nan, dtype)                # blocks of 2 terms: 0:2, 2:4, 4:5 and an empty one
    nb._pack(bt, b)                                        # a whole tile of PACK_COLS columns, then the last 3 one by one
    assert np.isnan(bt[2, :, 1]).all() and np.isnan(bt[3]).all() and not np.isnan(bt[:2]).any() and not np.isnan(bt[2, :, 0]).any()
    c = np.zeros((6, 11), dtype)
    for kb in range(4): nb._micro_rows(c, a, bt[kb], 0, 6, 0, 11, 2 * kb, min(2 * kb + 2, 5))   # 4x4 blocks and leftovers
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


def test_matmul_micro_leaves_fewer_than_4_rows_to_the_fastmath_loops(monkeypatch):
    "No 4x4 block to fill with 1 to 3 rows: no packing; from 4 rows on, the micro-kernel."
    def packing(a, b): raise AssertionError('the micro-kernel ran')
    monkeypatch.setattr(nb, '_micro_kernel', packing)
    torch.manual_seed(0)
    for m in (1, 2, 3):
        a,b = torch.randn(m, 50),torch.randn(50, 7)
        assert_matmul_close(nb.matmul_micro(a, b), a, b)
    with pytest.raises(AssertionError, match='micro-kernel ran'): nb.matmul_micro(torch.randn(4, 50), torch.randn(50, 7))


def test_the_micro_kernels_zero_c_themselves():
    "`c` comes from np.empty, and fresh memory is often zero already: here the kernels get a `c` full of NaN instead."
    # compiled code cannot be handed another `_buffers`: the kernels run as Python (NUMBA_DISABLE_JIT), in a process of their own
    code = """if True:
        import numpy as np, torch
        from exp import nb_01b as nb
        real = nb._buffers
        def dirty(a, b):
            bt,c = real(a, b)
            c[:] = np.nan
            return bt,c
        nb._buffers = dirty
        g = torch.Generator().manual_seed(0)
        a,b = torch.randn(37, 70, generator=g),torch.randn(70, 29, generator=g)
        for kernel in (nb._micro_kernel, nb._micro_kernel_parallel):
            torch.testing.assert_close(torch.from_numpy(kernel(a.numpy(), b.numpy())), a @ b, msg=kernel.__name__)
        print('ok')"""
    env = {**os.environ, 'NUMBA_DISABLE_JIT': '1'}
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == 'ok', res.stderr[-2000:]


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
    assert list(nb.LADDER)[5:] == list(nb.COMPILED_RUNGS) and all(nb.LADDER[k] is f for k,f in nb.COMPILED_RUNGS.items())




def test_vector_bits_reads_the_widest_registers_that_dominate():
    if nb.ARM: assert nb.vector_bits({}) == 128; return
    assert nb.vector_bits({'zmm (512 bit)': 22, 'ymm (256 bit)': 5}) == 512
    assert nb.vector_bits({'zmm (512 bit)': 0, 'ymm (256 bit)': 5}) == 256
    assert nb.vector_bits({'zmm (512 bit)': 3, 'ymm (256 bit)': 3}) == 256    # a few zmm for zeroing do not make 512-bit code
    assert nb.vector_bits({'zmm (512 bit)': 0, 'ymm (256 bit)': 0}) == 128    # SSE's xmm registers only: an x86 CPU without AVX
    bits = nb.numba_vector_bits()
    flags = open('/proc/cpuinfo').read().split() if os.path.exists('/proc/cpuinfo') else []
    assert bits in (128, 256, 512) and (bits >= 256 if 'avx2' in flags else True)   # an AVX2 CPU gets at least 256-bit code


@pytest.mark.skipif(nb.ARM, reason="x86 only: compiles for the baseline x86-64 CPU, without AVX or FMA")
def test_a_cpu_without_avx_or_fma_gets_128_bit_vectors_and_no_library_calls(tmp_path):
    "Cheap laptops' CPUs (Celeron, Pentium Silver) have neither: numba compiles for such a CPU when told (NUMBA_CPU_NAME=generic), in a process of its own. `llvm.fma` there called a library function for each number: 22x slower."
    code = """if True:
        import numpy as np, re, torch
        from exp import nb_01b as nb
        assert nb.numba_vector_bits() == 128, nb.asm_counts(nb._fastmath_kernel, np.ones((4, 4), np.float32), np.ones((4, 4), np.float32))
        assert (nb.vector_registers(), nb.TILE_ROWS) == (16, 6)   # the baseline x86-64 CPU has 16 vector registers: the 6-row tile
        kd,w = 5,2 * nb.simd_bits() // 32
        asm = nb.asm_text(nb._tile_6x2, np.zeros((6, w), np.float32), 0, 0, np.ones(6 * kd, np.float32), np.ones(w * kd, np.float32), kd)
        assert not re.search(r'\\bfmaf\\b', asm) and len(re.findall(r'\\bmulps', asm)) >= 12, asm   # multiplies, no calls of fmaf
        g = torch.Generator().manual_seed(0)
        a,b = torch.randn(50, 70, generator=g),torch.randn(70, 43, generator=g)
        torch.testing.assert_close(nb.matmul_outer(a, b), a @ b)
        print('ok')"""
    env = {**os.environ, 'NUMBA_CPU_NAME': 'generic', 'NUMBA_CACHE_DIR': str(tmp_path), 'NUMBA_NUM_THREADS': '1'}
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == 'ok', res.stderr[-3000:]


@pytest.mark.parametrize('kernel', ['_loops_kernel', '_ikj_kernel', '_fastmath_kernel', '_parallel_kernel', '_tiled_kernel'])
@pytest.mark.parametrize('shape', [(3, 5, 7), (300, 200, 400), (0, 4, 3), (2, 0, 3)])
def test_the_kernels_place_c_on_a_cache_line(kernel, shape):
    "A c that starts off a 64-byte line makes vector loads and stores of it straddle two lines: a core that loads 64 bytes at once splits at 32 bytes past a line, every AVX core at 16 (01b times both)."
    m,k,n = shape
    a,b = np.random.rand(m, k).astype(np.float32),np.random.rand(k, n).astype(np.float32)
    c = getattr(nb, kernel)(a, b)
    assert c.ctypes.data % 64 == 0 and c.shape == (m, n) and c.flags.c_contiguous
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


# --- rung 12: explicit vectors ------------------------------------------------------------------------------------

@nb.njit
def _vector_ops(alpha, x, y, out):
    "out[:n] = alpha * x[:n] + y[:n] for one vector's worth n, through each intrinsic; returns n."
    nb.vstore(out, 0, nb.vfma(nb.vsplat(alpha), nb.vload(x, 0), nb.vload(y, 0)))
    return nb.lanes(x)

@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_vector_intrinsics_do_one_vector_of_work(dtype):
    rng = np.random.default_rng(0)
    x,y,out = rng.random(40).astype(dtype),rng.random(40).astype(dtype),np.full(40, -7, dtype)
    n = _vector_ops(dtype(3), x, y, out)
    assert n == nb.simd_bits() // (8 * np.dtype(dtype).itemsize) and n >= 2
    np.testing.assert_allclose(out[:n], 3 * x[:n] + y[:n], rtol=1e-6)
    assert (out[n:] == -7).all(), "a store writes one vector's worth, nothing past it"

def test_vector_intrinsics_decline_what_they_cannot_load():
    "A 2-D array, an int array, mixed dtypes: numba reports a typing error naming the intrinsic, nothing is run."
    import numba
    x = np.ones(32, np.float32)
    for args in [(np.float32(1), x.reshape(4, 8), x.reshape(4, 8), x.reshape(4, 8)),
                 (np.float32(1), np.ones(32, np.int32), np.ones(32, np.int32), np.ones(32, np.int32)),
                 (np.float32(1), x, np.ones(32), x)]:
        with pytest.raises(numba.core.errors.TypingError, match='vload|vfma|vstore'): _vector_ops(*args)

@pytest.mark.parametrize('tile_rows', [6, 12])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_outer_tile_adds_its_outer_products_into_c(dtype, tile_rows):
    "Each tile, through `_tile`: its rows x 2 vectors of c gain the product of its packed rows of a and panel of b, and nothing around them changes."
    rng = np.random.default_rng(1)
    w,kd = 2 * nb.simd_bits() // (8 * np.dtype(dtype).itemsize),37
    ap,bp = rng.random(tile_rows * kd).astype(dtype),rng.random(w * kd).astype(dtype)
    c = rng.random((tile_rows + 3, w + 3)).astype(dtype)
    want = c.copy(); want[2:tile_rows + 2, 1:w + 1] += ap.reshape(kd, tile_rows).T @ bp.reshape(kd, w)
    nb._tile(c, 2, 1, ap, bp, kd, tile_rows)
    np.testing.assert_allclose(c, want, rtol=1e-5)
    with pytest.raises(ValueError, match='6 or 12 rows'): nb._tile(c, 2, 1, ap, bp, kd, 8)   # no tile of another height, even called directly

def test_vector_registers_read_the_features_numba_compiles_for(monkeypatch):
    "NUMBA_CPU_FEATURES (set by `make bench --wide-vectors`; '' for NUMBA_CPU_NAME=generic) when numba has one, else the host's: 32 registers only with AVX-512VL, which 256-bit code needs to reach registers 16 to 31; 32 on 64-bit ARM, whatever the features."
    if nb.ARM:
        assert (nb.vector_registers(), nb.TILE_ROWS) == (32, 12)
        return
    for features,registers in (('+avx,+avx2,+fma', 16), ('+avx2,+fma,+avx512f,+avx512vl', 32), ('+avx2,+avx512f,-avx512vl', 16), ('', 16)):
        monkeypatch.setattr(numba.config, 'CPU_FEATURES', features)
        assert nb.vector_registers() == registers, features
    monkeypatch.setattr(numba.config, 'CPU_FEATURES', None)
    flags = open('/proc/cpuinfo').read().split() if os.path.exists('/proc/cpuinfo') else []
    if flags and os.environ.get('NUMBA_ENABLE_AVX', '1') != '0':   # the host's own, as Linux lists them
        assert nb.vector_registers() == (32 if 'avx512vl' in flags else 16)
    if not (os.environ.get('NUMBA_CPU_FEATURES') or os.environ.get('NUMBA_CPU_NAME')):   # TILE_ROWS, set at import, read the host's too
        assert nb.TILE_ROWS == (12 if nb.vector_registers() == 32 else 6)

@pytest.mark.parametrize('bad', [0, 8, 6.5, '6', True])
def test_outer_refuses_a_tile_it_does_not_have(bad):
    a = np.ones((20, 20), np.float32)
    for f in (lambda: nb._outer_kernel(a, a, tile_rows=bad), lambda: nb._outer_kernel_parallel(a, a, tile_rows=bad),
              lambda: nb.tile_ceiling(1, tile_rows=bad, seconds=0.01, repeats=1)):
        with pytest.raises(ValueError, match='6 or 12 rows'): f()

def test_outer_packs_zeros_past_the_edges():
    "Panels and row blocks that stick out of b and a are filled with zeros, so tiles at the edges add nothing wrong."
    a,b = np.arange(4 * 5, dtype=np.float32).reshape(4, 5),np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    w = 2 * nb.simd_bits() // 32
    dst = np.full(5 * w, np.nan, np.float32)
    nb._pack_panel(dst, b, 1, 4, 0)
    np.testing.assert_array_equal(dst[:4 * w].reshape(4, w)[:, :3], b[1:5])
    assert (dst[:4 * w].reshape(4, w)[:, 3:] == 0).all() and np.isnan(dst[4 * w:]).all()   # only kd rows written
    for h in (6, 12):                                    # a tile's rows: 2 of a's, then zeros
        rows = np.full(h * 2, np.nan, np.float32)
        nb._pack_rows(rows, a, 2, 3, 2, h)
        np.testing.assert_array_equal(rows.reshape(2, h), np.concatenate([a[2:4, 3:5].T, np.zeros((2, h - 2), np.float32)], axis=1))

@pytest.mark.parametrize('tile_rows', [6, 12])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_outer_on_several_blocks_of_depth_and_tasks(dtype, tile_rows):
    torch.manual_seed(0)
    a,b = torch.randn(nb.OUTER_TASK * 2 + 7, nb.OUTER_DEPTH * 2 + 5, dtype=dtype),torch.randn(nb.OUTER_DEPTH * 2 + 5, 45, dtype=dtype)
    for kernel in (nb._outer_kernel, nb._outer_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a.numpy(), b.numpy(), tile_rows=tile_rows)), a, b)

def test_outer_buffers_start_panels_on_a_cache_line_and_fit_the_product():
    w = 2 * nb.simd_bits() // 32
    for block in (None, (40, 70)):                                                 # the default block, or one given
        depth,width = block or (nb.OUTER_DEPTH, nb.OUTER_WIDTH)
        for m,k,n in ((3, 4, 1), (7, 5, 45), (7, 17, 45), (7, 20, 45), (13, 800, 200), (1, 3, 5000), (0, 0, 0)):
            c,bp = nb._outer_buffers(np.ones((m, k), np.float32), np.ones((k, n), np.float32), block)
            assert (c == 0).all() and c.shape == (m, n)
            assert bp.ctypes.data % 64 == 0 and bp.strides[0] % 64 == 0, (m, k, n)
            assert len(bp) == (max(1, min(n, width)) + w - 1) // w                 # one block of columns, not all of b
            assert max(1, min(k, depth)) * w <= bp.shape[1] < (max(1, min(k, depth)) + 16) * w   # as deep as the product needs
            assert bp.shape[1] % (16 * w) == 0, (m, k, n)                          # in whole panels of 16 terms

@pytest.mark.parametrize('shape', [(0, 1, 0), (0, 0, 0), (3, 0, 40), (0, 5, 40), (7, 5, 0), (7, 0, 0)])
def test_outer_kernels_on_empty_products(shape):
    "Zero rows, columns or depth: c has the right shape, zeros; no block of size 0 to loop over."
    m,k,n = shape
    for kernel in (nb._outer_kernel, nb._outer_kernel_parallel):
        c = kernel(np.ones((m, k), np.float32), np.ones((k, n), np.float32))
        assert c.shape == (m, n) and (c == 0).all()

@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_outer_blocks_take_their_size_from_the_buffer(dtype):
    "A packed block smaller than OUTER_DEPTH x OUTER_WIDTH: more blocks, the same product, and nothing written past bp."
    rng = np.random.default_rng(3)
    w = 2 * nb.simd_bits() // (8 * np.dtype(dtype).itemsize)
    a,b = rng.standard_normal((13, 100)).astype(dtype),rng.standard_normal((100, 5 * w + 3)).astype(dtype)
    room = np.full(3 * 32 * w, np.nan, dtype)
    bp = room[:2 * 32 * w].reshape(2, 32 * w)              # 2 panels of 32 terms; the third stays NaN if nothing writes past
    for blocks in (lambda *args: nb._outer_blocks(*args, nb.TILE_ROWS), lambda *args: nb._outer_blocks_parallel(*args, 3, nb.TILE_ROWS)):
        c = np.zeros((13, b.shape[1]), dtype)
        blocks(c, a, b, bp)
        assert_matmul_close(torch.from_numpy(c), torch.from_numpy(a), torch.from_numpy(b))
        assert np.isnan(room[2 * 32 * w:]).all()

@pytest.mark.parametrize('tile_rows', [6, 12])
@pytest.mark.parametrize('threads', [1, 2, 5, 40])
@pytest.mark.parametrize('m', [nb.OUTER_TASK * 3 + 5, nb.OUTER_TASK * 16 + 11])
def test_outer_tasks_come_out_right_on_any_number_of_threads(threads, m, tile_rows):
    "Tasks taken from the counter by any number of threads, more than there are tasks too (those find none left); tasks of one tile up to OUTER_TASK rows (the larger m on one thread), the last ones a tile each; on several blocks, so the counter starts again at 0 for each."
    rng = np.random.default_rng(4)
    a,b = rng.standard_normal((m, 70)).astype(np.float32),rng.standard_normal((70, 70)).astype(np.float32)
    c,bp = nb._outer_buffers(a, b, (32, 32))
    nb._outer_blocks_parallel(c, a, b, bp, threads, tile_rows)
    assert_matmul_close(torch.from_numpy(c), torch.from_numpy(a), torch.from_numpy(b))

@pytest.mark.parametrize('tile_rows', [6, 12])
@pytest.mark.parametrize('m', [1, 5, 6, 100, 395, 4096, 4099])
@pytest.mark.parametrize('threads', [1, 2, 16])
def test_task_rows_cover_every_row_once_the_last_ones_a_tile_at_a_time(m, threads, tile_rows):
    "As _task_plan and _task_rows cut them for _outer_blocks_parallel, for tiles of `tile_rows` (h) rows: tasks of `rows` rows up to `split`, then of one tile (the last may be fewer), in order and without a gap; past `split`, a task's worth of rows a thread."
    h = tile_rows
    rows,split,tasks = nb._task_plan(m, threads, h)
    assert rows % h == 0 and h <= rows <= nb.OUTER_TASK and split % rows == 0
    assert rows == h or (m + h - 1) // h // (rows // h) >= 4 * threads      # tasks of more than a tile only where each thread gets 4 or more
    spans = [nb._task_rows(x, m, rows, split, h) for x in range(tasks)]
    assert spans[0][0] == 0 and spans[-1][1] == m and all(s[1] == t[0] for s,t in zip(spans, spans[1:]))
    sizes = [i1 - i0 for i0,i1 in spans]
    assert all(x == rows for x in sizes[:split // rows]) and all(1 <= x <= h for x in sizes[split // rows:])
    assert m - split <= max(threads * rows, rows) + rows and (m <= threads * rows or m - split >= threads * rows)

@numba.njit
def _one(counter): return nb._next_task(counter)

@numba.njit(parallel=True)
def _take_all(counter, takes, threads, tasks):
    for t in numba.prange(threads):
        while True:
            x = nb._next_task(counter)
            if x >= tasks: break
            takes[x] += 1

def test_next_task_hands_each_number_out_once_across_threads():
    "Threads racing for the counter: every task taken exactly once (a plain read-add-write would hand some out twice)."
    counter = np.zeros(1, np.int64)
    assert [_one(counter) for _ in range(3)] == [0, 1, 2]
    for _ in range(20):
        counter[0],takes = 0,np.zeros(100_000, np.int64)
        _take_all(counter, takes, numba.get_num_threads(), len(takes))
        assert (takes == 1).all(), np.bincount(takes)
        assert counter[0] >= len(takes)                    # each thread's last take, past the end, counts too

@pytest.mark.parametrize('threads', [1, 3])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_fma_chains_do_every_part_once(threads, dtype):
    "s = s * 1 + 1 from 0 counts the steps (exactly, below 2**24): across the threads, the 12 chains' sums add up to 12 x parts x steps, and the counter has handed out every part, and one number past the end to each thread."
    out = np.zeros((threads, 64), dtype)
    out[:, 12],out[:, 13] = 1,1
    counter,lanes = np.zeros(1, np.int64),nb.simd_bits() // (8 * np.dtype(dtype).itemsize)
    nb._fma_chains(out, 7, 100, counter)
    assert counter[0] == 7 + threads
    assert (out[:, :lanes] == out[:, :1]).all()                        # every lane alike: one vector stored a row
    assert out[:, 0].sum() == 12 * 7 * 100

@pytest.mark.parametrize('tile_rows', [6, 12])
@pytest.mark.parametrize('threads', [1, 3])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('depth', [16, 5])
def test_tile_repeats_calls_the_tile_once_a_step(threads, dtype, depth, tile_rows):
    "With every number of a and b 1, each call of the tile adds `depth` to every number of its thread's block of c: across the threads the blocks add up to parts x steps x depth, and each thread wrote only its own block; each thread's arrays start on a line of their own, at an odd depth too."
    c,ap,bp = nb._tile_buffers(threads, dtype, depth, tile_rows)
    w = nb._tile_width(dtype)
    assert c.shape == (threads, tile_rows, w) and ap.shape[0] == bp.shape[0] == threads and ap.shape[1] >= tile_rows * depth and bp.shape[1] >= w * depth
    assert all(x[t].ctypes.data % 64 == 0 for x in (c, ap, bp) for t in range(threads))   # no two threads share a line
    counter = np.zeros(1, np.int64)
    nb._tile_repeats(c, ap, bp, depth, 7, 5, counter)
    assert counter[0] == 7 + threads
    assert (c == c[:, :1, :1]).all()                        # every number of a thread's block alike
    assert c[:, 0, 0].sum() == 7 * 5 * depth and (c[:, 0, 0] % (5 * depth) == 0).all()   # whole parts, 5 calls of `depth` terms each

@pytest.mark.parametrize('ceiling', ['fma_ceiling', 'tile_ceiling'])
def test_ceilings_measure_and_refuse_bad_arguments(ceiling):
    f = getattr(nb, ceiling)
    for dtype in (torch.float32, torch.float64):
        g = f(1, dtype, seconds=0.01, repeats=1)
        assert math.isfinite(g) and g > 0
    bad = [(dict(threads=0), 'threads'), (dict(seconds=0), 'seconds'), (dict(seconds=math.inf), 'seconds'), (dict(repeats=0), 'repeats'),
           (dict(threads=numba.config.NUMBA_NUM_THREADS + 1), 'at most'), (dict(dtype=torch.float16), 'float16')]
    if ceiling == 'tile_ceiling': bad.append((dict(depth=0), 'depth'))
    for kw,msg in bad:
        with pytest.raises(ValueError, match=msg): f(**kw)

def test_a_ceiling_is_not_the_threads_wake_up_on_a_busy_machine():
    "A run whose threads take 5 ms to start: 100 steps already lasted seconds / 4, and the ceiling read 1% of the work's speed."
    runs = []
    def run(parts, steps):                                   # 5 ms to start, then 0.2 us a step
        runs.append(steps); time.sleep(0.005 + 2e-7 * steps)
    g = nb._ceiling(run, 1, 1e9, seconds=0.01, repeats=2)    # 1e9 FLOPs a step: GFLOP/s = parts * steps / seconds
    true = 8 / 2e-7                                          # 8 parts, 0.2 us a step
    assert 0.5 * true < g < true, (g, true, runs)
    assert nb._steps_for(lambda steps: 1e-6 * steps, 0.01) in range(10_000, 10_500)   # no wake-up: about `seconds` a run


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_outer_on_several_blocks_of_columns(dtype):
    "Wider than OUTER_WIDTH: the panels of b are packed again for each block of columns, the last one part-filled."
    rng = np.random.default_rng(2)
    a,b = rng.standard_normal((13, 70)).astype(dtype),rng.standard_normal((70, 2 * nb.OUTER_WIDTH + 45)).astype(dtype)
    for kernel in (nb._outer_kernel, nb._outer_kernel_parallel):
        assert_matmul_close(torch.from_numpy(kernel(a, b)), torch.from_numpy(a), torch.from_numpy(b))

def test_outer_packs_a_whole_panel_as_the_general_loop_does():
    "The whole-panel path of _pack_panel (known length) and the last-panel path write the same layout."
    b = np.arange(9 * 100, dtype=np.float32).reshape(9, 100)
    w = 2 * nb.simd_bits() // 32
    whole,part = np.full(4 * w, np.nan, np.float32),np.full(4 * w, np.nan, np.float32)
    nb._pack_panel(whole, b, 2, 4, 100 - w)               # fits: the fast path
    np.testing.assert_array_equal(whole.reshape(4, w), b[2:6, 100 - w:])
    nb._pack_panel(part, b[:, :100 - 1], 2, 4, 100 - w)   # one column short: the general path, a zero in its place
    np.testing.assert_array_equal(part.reshape(4, w)[:, :-1], b[2:6, 100 - w:-1])
    assert (part.reshape(4, w)[:, -1] == 0).all()

def test_outer_hands_products_narrower_than_a_tile_to_the_micro_kernel(monkeypatch):
    "Fewer columns than a tile's 2 vectors, or fewer rows than a tile (`TILE_ROWS`): most of each tile would be zeros."
    calls = []
    real = nb._micro
    monkeypatch.setattr(nb, '_micro', lambda a, b: calls.append((a.shape, b.shape)) or real(a, b))
    w,h = 2 * nb.simd_bits() // 32,nb.TILE_ROWS
    torch.manual_seed(0)
    for (m,k,n) in [(5, 784, 10), (50, 30, w - 1), (h - 1, 30, w), (h, 30, w)]:
        a,b = torch.randn(m, k),torch.randn(k, n)
        assert_matmul_close(nb.matmul_outer(a, b), a, b)
    assert calls == [((5, 784), (784, 10)), ((50, 30), (30, w - 1)), ((h - 1, 30), (30, w))]
    with pytest.raises(ValueError, match='float32 or float64'): nb.matmul_outer(torch.ones(8, 3, dtype=torch.int32), torch.ones(3, 40, dtype=torch.int32))

def test_vector_ops_refuse_to_run_in_python_and_to_store_into_read_only_arrays():
    import numba
    with pytest.raises(TypeError, match='only inside numba-compiled code'): nb.vload(np.ones(32, np.float32), 0)
    x = np.ones(32, np.float32)
    y = np.ones(32, np.float32); y.flags.writeable = False
    with pytest.raises(numba.core.errors.TypingError, match='vstore'): _vector_ops(np.float32(1), x, x, y)


def test_numba_threads_sets_and_restores_numba_threads():
    import numba
    before = numba.get_num_threads()
    with nb.numba_threads(1): assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with nb.numba_threads(1): raise RuntimeError('inside')
    assert numba.get_num_threads() == before                    # after an error too
    for bad, match in ((0, 'at least 1'), (True, 'at least 1'), (numba.config.NUMBA_NUM_THREADS + 1, 'numba runs at most')):
        with pytest.raises(ValueError, match=match): nb.numba_threads(bad).__enter__()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="with one CPU, 'every CPU' is the one thread asked for")
def test_numba_starting_its_threads_keeps_torchs_count():
    "PyTorch set to one thread before exp.nb_01b is imported stays on one after numba's threads start (numba's OpenMP layer reset it to all: make bench --threads 1 timed torch @ on every core)."
    code = """if True:
        import torch
        torch.set_num_threads(1); torch.get_num_threads()
        from exp import nb_01b as nb
        x = torch.rand(300, 300)
        nb.matmul_outer(x, x); nb.matmul_parallel(x, x)
        print(torch.get_num_threads())"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.split()[-1:] == ['1'], (res.stdout, res.stderr[-2000:])


def test_numpy_view_is_c_contiguous_and_copies_only_when_it_must():
    x = torch.randn(6, 4)
    assert nb._numpy(x).ctypes.data == x.data_ptr()                 # contiguous: a view, no copy
    t = nb._numpy(x.T)
    assert t.flags['C_CONTIGUOUS'] and np.array_equal(t, x.T.numpy())


def test_asm_counts_counts_each_instruction_not_only_whether_it_is_there():
    counts = nb.asm_counts(nb._fastmath_kernel, np.ones((3, 5), np.float32), np.ones((5, 2), np.float32))
    assert max(counts.values()) > 1


@pytest.mark.parametrize("rung", ids)
def test_compiled_rungs_pass_nan_and_inf_through_as_the_operator_does(rung):
    "fastmath lets LLVM assume no NaN or inf; a diverged model's inputs must still come out NaN or inf where @ gives them."
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(13, 40, generator=g), torch.randn(40, 37, generator=g)
    a[1, 2], a[7, 0], b[3, 30] = math.nan, math.inf, -math.inf
    got, ref = nb.COMPILED_RUNGS[rung](a, b), a @ b
    assert torch.equal(got.isnan(), ref.isnan()) and torch.equal(got.isinf(), ref.isinf())


def test_zeros_on_a_line_refuses_a_negative_size():
    "np.zeros(m * n + 16) with m = -1 made a (2, 4) array, silently."
    from exp.nb_01b import zeros_on_a_line
    like = np.ones(1, np.float32)
    for m,n in [(-1, 4), (3, -2)]:
        with pytest.raises(ValueError, match='zeros_on_a_line: m and n must be 0 or more'): zeros_on_a_line(m, n, like)
    z = zeros_on_a_line(3, 5, like)
    assert z.shape == (3, 5) and not z.any() and z.ctypes.data % 64 == 0


def test_tune_outer_times_each_block_and_rung_12_then_packs_the_fastest(monkeypatch):
    "Real timings on a small product: a speed for each block, in the order given; the fastest is kept, and it is the block that rung 12 then packs."
    monkeypatch.setattr(nb, 'OUTER_DEPTH', nb.OUTER_DEPTH); monkeypatch.setattr(nb, 'OUTER_WIDTH', nb.OUTER_WIDTH)   # put back after the test
    seen,real = [],nb._outer_kernel_parallel
    def kernel(a, b, block=None):
        seen.append((*block, a.dtype))                       # the block each product is timed with
        return real(a, b, block)
    monkeypatch.setattr(nb, '_outer_kernel_parallel', kernel)
    speeds = nb.tune_outer(size=96, blocks=[(16, 32), (48, 64), [32, 96]], repeats=1, dtype=torch.float64)
    assert list(speeds) == [(16, 32), (48, 64), (32, 96)] and all(g > 0 for g in speeds.values())
    assert {s[:2] for s in seen} == set(speeds) and {s[2] for s in seen} == {np.dtype(np.float64)}
    monkeypatch.setattr(nb, '_outer_kernel_parallel', real)
    assert (nb.OUTER_DEPTH, nb.OUTER_WIDTH) == max(speeds, key=speeds.get)
    w = nb._tile_width(np.float32)
    _,bp = nb._outer_buffers(np.ones((200, 200), np.float32), np.ones((200, 200), np.float32))
    assert bp.shape == ((nb.OUTER_WIDTH + w - 1) // w, (nb.OUTER_DEPTH + 15) // 16 * 16 * w)
    x,y = torch.randn(70, 130),torch.randn(130, 150)
    assert_matmul_close(nb.matmul_outer(x, y), x, y)     # several blocks of depth and of columns with the block kept


def test_tune_outer_keeps_the_block_of_the_fastest_run_and_nothing_half_way(monkeypatch):
    "Chosen by each block's fastest run (not its median); stopped while timing, the block it had stays; bad arguments are named."
    from types import SimpleNamespace
    monkeypatch.setattr(nb, 'OUTER_DEPTH', 768); monkeypatch.setattr(nb, 'OUTER_WIDTH', 2048)
    fake = {'768x2048': SimpleNamespace(min=2.0, median=2.0), '384x1024': SimpleNamespace(min=1.0, median=3.0)}
    monkeypatch.setattr(nb, 'time_side_by_side', lambda fns, repeats, min_time: {k: fake[k] for k in fns})
    speeds = nb.tune_outer(size=64, blocks=[(768, 2048), (384, 1024)], repeats=1)
    assert (nb.OUTER_DEPTH, nb.OUTER_WIDTH) == (384, 1024) and speeds[(384, 1024)] == pytest.approx(2 * speeds[(768, 2048)])
    def stopped(fns, repeats, min_time):
        next(iter(fns.values()))()                       # one block timed, then Ctrl-C
        raise KeyboardInterrupt
    monkeypatch.setattr(nb, 'time_side_by_side', stopped)
    with pytest.raises(KeyboardInterrupt): nb.tune_outer(size=64, blocks=[(256, 1024)], repeats=1)
    assert (nb.OUTER_DEPTH, nb.OUTER_WIDTH) == (384, 1024)
    for bad,says in [(dict(blocks=[]), 'at least one'), (dict(blocks=[(0, 64)]), 'got (0, 64)'), (dict(blocks=[768]), 'got 768'),
                     (dict(blocks=[(1.5, 64)]), 'whole numbers'), (dict(size=5), 'size must be'), (dict(repeats=0), 'repeats must be'),
                     (dict(dtype=torch.bfloat16), 'float32 or float64 products, not torch.bfloat16')]:
        with pytest.raises(ValueError, match=re.escape(says)): nb.tune_outer(**bad)
