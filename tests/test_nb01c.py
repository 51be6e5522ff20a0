"""Notebook 01c's GPU code. Without a GPU (CI) every kernel runs through numba's CUDA simulator or Triton's interpreter
(as `exp.nb_01c` arranges where PyTorch sees no GPU) and is checked against `torch @`; the GPU ladder runs too,
simulated, and its timings mean nothing. On a GPU (`tools/gpu_run.sh`) the same kernel checks run on it, where a
missing barrier or a wrong bound would show; the tests about the simulation itself are skipped there."""
import importlib.metadata, math, os
from types import SimpleNamespace

import numpy as np, pytest, torch

from exp.measure import LadderRow, Timing, add_ratios, gpu_peak, TARGETS
from exp import nb_01c
from exp.nb_01c import (BLOCK, CUDA_RUNGS, DEVICE, GPU_RUNGS, GPU_TARGETS, SIMULATED, THREADS, TRITON_CONFIGS, bandwidth, k_contiguous,
                        gpu_ladder, gpu_rungs, gpu_targets, matmul_intensity, matmul_precision, matmul_tf32, matmul_triton, plot_roofline, round_to_tf32,
                        stack_problem, triton, tune_triton)

simulated = pytest.mark.skipif(not SIMULATED, reason='a test of running GPU code on the CPU, where PyTorch sees no GPU')
needs_triton = pytest.mark.skipif(triton is None, reason="Triton is not installed (its wheels are Linux-only: the extra '.[gpu]' installs nothing elsewhere)")

# odd sizes: none a multiple of a block (16) or of the register kernel's tile (BLOCK = 128), two past a tile (rows, columns)
SHAPES = [(1, 1, 1), (33, 17, 21), (7, 40, 2), (BLOCK + 3, 9, 5), (5, 9, BLOCK + 3)] + ([] if SIMULATED else [(1000, 517, 999)])   # on a GPU, many blocks at once


def operands(m, k, n, seed=0, device=DEVICE):
    "Random `a` (m, k) and `b` (k, n) where the kernels run: the CPU here, the GPU where there is one."
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, k, generator=g).to(device),torch.randn(k, n, generator=g).to(device)


@simulated
def test_the_kernels_run_on_the_cpu_here():
    assert os.environ['NUMBA_ENABLE_CUDASIM'] == '1' and os.environ['TRITON_INTERPRET'] == '1'
    import numba
    assert numba.core.config.ENABLE_CUDASIM and nb_01c.DEVICE == 'cpu'
    assert type(nb_01c._naive_kernel).__module__.startswith('numba.cuda.simulator')   # the kernel itself is the simulator's


@pytest.mark.parametrize('name', list(CUDA_RUNGS))
@pytest.mark.parametrize('m,k,n', SHAPES)
def test_numba_cuda_kernels_match_torch(name, m, k, n):
    a,b = operands(m, k, n)
    c = CUDA_RUNGS[name](a, b)
    assert c.shape == (m, n) and c.dtype == torch.float32
    torch.testing.assert_close(c, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('name', list(CUDA_RUNGS))
def test_numba_cuda_kernels_take_views_and_refuse_bad_input(name):
    f = CUDA_RUNGS[name]
    a,b = operands(20, 30, 20)
    torch.testing.assert_close(f(b.t(), a.t()), b.t() @ a.t(), rtol=1e-4, atol=1e-4)     # transposed, non-contiguous
    with pytest.raises(ValueError, match='float32 matrices, not a float64 tensor of shape'): f(a.double(), b.double())
    with pytest.raises(ValueError, match=r'\(20, 30\)'): f(a, a)
    with pytest.raises(ValueError, match=f"on '{DEVICE}'.*meta"): f(a.to('meta'), b.to('meta'))


@pytest.mark.parametrize('name', [*CUDA_RUNGS, pytest.param('triton', marks=needs_triton)])
def test_a_kernel_refuses_inputs_that_require_grad(name):
    "A kernel's result carries no gradient: with autograd recording, an input that requires one is an error, as for 01b's rungs."
    f = matmul_triton if name == 'triton' else CUDA_RUNGS[name]
    a,b = operands(5, 7, 3)
    with pytest.raises(ValueError, match=r"requires grad, but a GPU kernel's result.*\.detach\(\).*torch\.no_grad\(\)"): f(a.requires_grad_(), b)
    with torch.no_grad(): torch.testing.assert_close(f(a, b), a @ b, rtol=1e-4, atol=1e-4)


class _NoLaunch:
    "Stands for a numba.cuda kernel that must not be launched."
    def __getitem__(self, config): raise AssertionError(f"a kernel was launched with {config}")

def test_an_empty_product_launches_no_kernel():
    "A GPU refuses a grid of no blocks (the simulator does not): an empty `c` is returned as it is."
    for m,n in [(0, 5), (4, 0), (0, 0)]:
        a,b = operands(m, 3, n)
        assert nb_01c._launch(_NoLaunch(), a, b, 16).shape == (m, n)

def test_a_grid_taller_than_cuda_allows_is_refused_by_name():
    a,b = torch.zeros(65535 * 16 + 1, 1, device=DEVICE),torch.zeros(1, 1, device=DEVICE)
    with pytest.raises(ValueError, match=r"a has 1,048,561 rows: more than 1,048,560.*65,535 blocks along y"): nb_01c._launch(_NoLaunch(), a, b, 16)


@needs_triton
@pytest.mark.parametrize('tf32', [False, True])
@pytest.mark.parametrize('m,k,n', SHAPES)
def test_triton_kernel_matches_torch(m, k, n, tf32):
    a,b = operands(m, k, n)
    rtol,atol = (1e-2, 3e-3 * math.sqrt(k)) if tf32 and not SIMULATED else (1e-4, 1e-4)   # the interpreter multiplies exactly; tensor cores keep TF32's 10 bits
    torch.testing.assert_close(matmul_triton(a, b, tf32=tf32), a @ b, rtol=rtol, atol=atol)


def test_k_contiguous_lays_out_both_operands_along_k_and_copies_only_what_is_not():
    a,b = operands(6, 5, 4)
    ka,kb = k_contiguous(a, b)
    assert ka is a and ka.stride() == (5, 1) and kb.stride() == (1, 5) and torch.equal(kb, b)   # a row-major a is kept
    ta,tb = k_contiguous(b.t(), kb.t().t())            # a transposed view of a (5, 4) tensor, and b already along k
    assert ta.stride() == (5, 1) and torch.equal(ta, b.t()) and tb.data_ptr() == kb.data_ptr()


@needs_triton
def test_triton_tf32_takes_operands_of_any_layout():
    a,b = operands(33, 34, 42)
    a,b = a[:, ::2],b[::2, ::2]                                 # views: k strided in a, both strides in b: (33, 17) @ (17, 21)
    rtol,atol = (1e-2, 3e-3 * math.sqrt(17)) if not SIMULATED else (1e-4, 1e-4)
    ref = a.contiguous() @ b.contiguous()
    col_major = lambda t: t.t().contiguous().t()
    for x,y in [(a.contiguous(), b.contiguous()), (col_major(a), col_major(b)), (a.contiguous(), col_major(b)), (col_major(a), b.contiguous()), (a, b)]:
        torch.testing.assert_close(matmul_triton(x, y, tf32=True), ref, rtol=rtol, atol=atol)


@needs_triton
@pytest.mark.parametrize('cfg', TRITON_CONFIGS, ids=lambda c: f"{c['BM']}x{c['BN']}x{c['BK']}")
def test_every_triton_config_is_correct(cfg):
    a,b = operands(70, 45, 33)
    torch.testing.assert_close(matmul_triton(a, b, config=cfg), a @ b, rtol=1e-4, atol=1e-4)


def test_the_roofline_leaves_out_a_lower_peak_that_is_not_known():
    "A GPU whose clock is unknown has no FP32 peak: the roofline still draws, without that line."
    labels = lambda ax: [l.get_label() for l in ax.get_lines()]
    assert not any('FP32' in l for l in labels(plot_roofline(1000, 100, [('x', 1, 10)], lower_peak=('FP32 peak', None))))
    assert 'FP32 peak: 500 GFLOP/s' in labels(plot_roofline(1000, 100, [('x', 1, 10)], lower_peak=('FP32 peak', 500.)))


@needs_triton
def test_an_untuned_shape_takes_the_first_config_of_its_precision(monkeypatch):
    "FP32 without tuning takes the first config made for FP32 (the larger tiles at the list's head spill there); TF32 the list's first."
    used = []
    monkeypatch.setattr(nb_01c, '_run_triton', lambda a, b, tf32, cfg: used.append(cfg) or a @ b)
    a,b = operands(23, 19, 11)
    matmul_triton(a, b); matmul_triton(a, b, tf32=True)
    bm,bn,bk,w,s = nb_01c._FOR_FP32[0]
    assert used == [dict(BM=bm, BN=bn, BK=bk, num_warps=w, num_stages=s), TRITON_CONFIGS[0]] and used[0] != TRITON_CONFIGS[0]


@needs_triton
def test_tuning_keeps_the_fastest_config():
    best,times = tune_triton(20, 20, 20, configs=TRITON_CONFIGS[-2:], repeats=1)
    assert set(times) == {0, 1} and best == TRITON_CONFIGS[-2:][min(times, key=times.get)]
    assert nb_01c._TUNED[(20, 20, 20, False)] == best


@needs_triton
def test_tuning_refuses_sizes_and_configs_with_nothing_to_tune():
    for m,k,n in [(0, 4, 4), (4, 0, 4), (4, 4, -1), (4, 4.0, 4)]:
        with pytest.raises(ValueError, match=r'tune_triton: [mkn] must be an int, at least 1'): tune_triton(m, k, n)
    with pytest.raises(ValueError, match='configs is empty'): tune_triton(4, 4, 4, configs=[])


@needs_triton
def test_tuning_leaves_out_a_failing_config(monkeypatch):
    "A config that fails (on a GPU with less shared memory, say) or multiplies wrong is left out with a warning that says why; if all fail, an error says why."
    real = nb_01c.matmul_triton
    def flaky(a, b, tf32=False, config=None):
        if config is TRITON_CONFIGS[-2]: raise RuntimeError('out of shared memory')
        return real(a, b, tf32, config)
    monkeypatch.setattr(nb_01c, 'matmul_triton', flaky)
    with pytest.warns(UserWarning, match=r"1 of 2 configs left out: config 0 .*RuntimeError: out of shared memory"):
        best,times = tune_triton(20, 20, 20, configs=TRITON_CONFIGS[-2:], repeats=1)
    assert set(times) == {1} and best == TRITON_CONFIGS[-1]
    monkeypatch.setattr(nb_01c, 'matmul_triton', lambda a, b, tf32=False, config=None: real(a, b, tf32, config) + (config is TRITON_CONFIGS[-1]))
    with pytest.warns(UserWarning, match=r"config 1 .*ArithmeticError: a wrong product"):          # a config that multiplies wrong
        assert tune_triton(20, 20, 20, configs=TRITON_CONFIGS[-2:], repeats=1)[0] == TRITON_CONFIGS[-2]
    monkeypatch.setattr(nb_01c, 'matmul_triton', lambda *args: 1 / 0)
    with pytest.raises(RuntimeError, match=r"no config ran for 20x20x20: config 0 .*ZeroDivisionError"):
        tune_triton(20, 20, 20, configs=TRITON_CONFIGS[-2:], repeats=1)


def test_round_to_tf32():
    x = torch.tensor([1.0, 1 + 2**-10, 1 + 2**-11, 1 + 2**-12, -(1 + 2**-11), 3e38, 0.0, float('inf')])
    m,e = math.frexp(x[5].item())                                       # 3e38 as float32 holds it, = m * 2**e with 0.5 <= m < 1
    assert round_to_tf32(x).tolist() == [1.0, 1 + 2**-10, 1 + 2**-10, 1.0, -(1 + 2**-10), math.ldexp(round(m * 2**11), e - 11), 0.0, float('inf')]
    y = round_to_tf32(torch.randn(1000, generator=torch.Generator().manual_seed(0)))
    assert (y.view(torch.int32) & 0x1FFF).eq(0).all()                 # 13 of float32's 23 mantissa bits dropped
    r = torch.randn(1000, generator=torch.Generator().manual_seed(1))
    assert ((round_to_tf32(r) - r).abs() <= r.abs() * 2**-11).all()  # within half of TF32's last bit
    with pytest.raises(ValueError, match='float32'): round_to_tf32(r.double())
    nan = torch.tensor([0x7FFFFFFF], dtype=torch.int32).view(torch.float32)   # a NaN whose rounding would carry into the sign
    assert round_to_tf32(nan).isnan().all()


@simulated
def test_matmul_precision_restores_the_setting():
    before,mm = torch.get_float32_matmul_precision(),torch.backends.cuda.matmul
    was,glob = getattr(mm, 'fp32_precision', None),getattr(torch.backends, 'fp32_precision', None)   # before any call
    with pytest.raises(KeyError):
        with matmul_precision('high'):
            assert torch.get_float32_matmul_precision() == 'high'
            raise KeyError
    assert torch.get_float32_matmul_precision() == before
    if was is not None:                                  # PyTorch's newer settings: each backend left following the global one
        try:
            assert mm.fp32_precision == was
            if was == 'none':
                torch.backends.fp32_precision = 'tf32'     # set afterwards, the newer way: still reaches the matmuls
                assert mm.fp32_precision == 'tf32'
        finally: torch.backends.fp32_precision = glob
        try:                                             # the global one set first: the backends still follow it after
            torch.backends.fp32_precision = 'tf32'
            with matmul_precision('highest'): pass
            torch.backends.fp32_precision = 'ieee'
            assert mm.fp32_precision == 'ieee'
        finally: torch.backends.fp32_precision = glob
    a,b = operands(5, 6, 7)
    torch.testing.assert_close(matmul_tf32(a, b), a @ b)              # a CPU ignores TF32


def test_intensity_and_bandwidth():
    assert matmul_intensity(2, 3, 4) == 2 * 2 * 3 * 4 / (4 * (6 + 12 + 8))
    assert matmul_intensity(2, 3, 4, itemsize=8) == matmul_intensity(2, 3, 4) / 2
    assert bandwidth('cpu', mb=8, repeats=2) > 0.1
    for bad in [dict(m=0), dict(k=-1), dict(itemsize=0), dict(n=2.5)]:
        sizes = {**dict(m=2, k=3, n=4), **bad}
        with pytest.raises(ValueError, match=f"matmul_intensity: {next(iter(bad))} must be an int, at least 1"): matmul_intensity(**sizes)
    for mb in (0, -1, 2.5):
        with pytest.raises(ValueError, match='bandwidth: mb must be an int, at least 1'): bandwidth('cpu', mb=mb)


def test_flags_sizes_and_precisions_are_checked_by_name():
    "tf32='no' would count as True, first_configs(-1) would give all but one, and an unknown precision only warns in PyTorch."
    a,b = operands(3, 4, 5)
    if triton is not None:
        with pytest.raises(ValueError, match="tf32 must be True or False, got 'no'"): matmul_triton(a, b, tf32='no')
    with pytest.raises(ValueError, match='first_configs: n must be an int, at least 1, got -1'): nb_01c.first_configs(-1)
    assert len(nb_01c.first_configs(3)) == 3
    with pytest.raises(ValueError, match="'highest' \\(FP32\\), 'high' \\(TF32 allowed\\) or 'medium', not 'bogus'"):
        with matmul_precision('bogus'): pass


def test_a_failing_gpu_package_is_named_with_its_version():
    msg = stack_problem('numba-cuda', AttributeError("module 'numpy' has no attribute 'row_stack'"))
    assert msg.startswith(f"numba-cuda {importlib.metadata.version('numba-cuda')} failed") and f"numpy {np.__version__}" in msg and 'row_stack' in msg
    assert msg.endswith(f"pip install 'numpy<{'.'.join(np.__version__.split('.')[:2])}'")   # the fix named: a numpy older than this one
    assert 'pip install -U numba-cuda' in stack_problem('numba-cuda', TypeError('a bug of its own'))   # anything else: a newer package
    assert "pip install -e '.[gpu]'" in stack_problem('no-such-package', None)
    no_nvvm = stack_problem('numba-cuda', RuntimeError('libNVVM cannot be found'))
    assert 'CUDA toolkit' in no_nvvm and 'CUDA_HOME' in no_nvvm and "numba-cuda[cu13]" in no_nvvm and 'pip install -U' not in no_nvvm


@simulated
def test_no_gpu_rungs_without_a_gpu():
    rungs,note = gpu_rungs()
    assert rungs == {} and 'no CUDA GPU' in note
    assert set(CUDA_RUNGS) < set(GPU_RUNGS)


@simulated
def test_a_gpu_rung_copies_each_new_pair_of_inputs():
    "A rung keeps its copies of the inputs only for the very same tensors: a transposed view shares memory and shape, yet is another matrix."
    rung = nb_01c._OnGPU(torch.matmul)
    a,b = operands(6, 6, 6)
    assert torch.equal(rung(a, b), a @ b)
    assert torch.equal(rung(a.T, b), a.T @ b)
    assert torch.equal(rung(a, b.clone()), a @ b) and rung(a, b).device.type == DEVICE


@needs_triton
@simulated
def test_the_gpu_ladder_runs_simulated(monkeypatch):
    "What `make bench` and 01c run on a GPU, here on the CPU: every GPU rung, the Triton kernel tuned first, ratios and targets read."
    monkeypatch.setattr(nb_01c, '_TUNED', {})
    rungs = {k: f for fs in nb_01c._rungs_by_package().values() for k,f in fs.items()}
    size = (8, 20, 12)
    rows = gpu_ladder(rungs, [size], repeats=1, min_time=0, max_call=60)
    assert [r.rung for r in rows] == GPU_RUNGS and all(r.measured for r in rows), [r.skipped for r in rows]
    assert set(nb_01c._TUNED) == {(*size, False), (*size, True)}
    by = {r.rung: r for r in rows}
    assert by['cuda naive'].x_base == 1 and by['torch cuda'].vs_ref == 1 and by['triton'].vs_ref > 0
    assert {r.device for r in rows} == {DEVICE} and by['triton tf32'].dtype == 'tf32'
    assert all(r.pct_peak is None for r in rows), "no GPU, no GPU peak: no row is read against the CPU's"
    t = gpu_targets(rows)
    assert t.keys() == GPU_TARGETS.keys() and t['numba_cuda'].rung in CUDA_RUNGS
    assert t['triton_fp32'].value == pytest.approx(by['triton'].gflops / by['torch cuda'].gflops)
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *size, **kw: pytest.fail(f'{size} tuned twice'))
    assert gpu_ladder({'triton': rungs['triton']}, [size], repeats=1, min_time=0, max_call=60)[0].measured   # tuned already


def row(rung, size, seconds, **kw):
    return LadderRow.timed(rung, size, Timing([seconds], 1), device='cuda', **kw)

def test_gpu_targets_read_the_largest_size():
    big,small = (4096,) * 3,(1024,) * 3
    rows = [row('torch cuda', big, 1.0), row('torch cuda tf32', big, 0.2, dtype='tf32'), row('triton', big, 1.1),
            row('triton tf32', big, 0.4, dtype='tf32'), row('cuda naive', big, 40.0), row('cuda regs', big, 3.0),
            row('triton', small, 100.0), LadderRow('cuda shared', *big, device='cuda', skipped='too slow')]
    t = gpu_targets(rows)
    assert t['triton_fp32'].value == pytest.approx(1 / 1.1) and t['triton_fp32'].met
    assert t['triton_tf32'].value == pytest.approx(0.5) and not t['triton_tf32'].met
    assert t['numba_cuda'].rung == 'cuda regs' and t['numba_cuda'].value == pytest.approx(1 / 3)
    assert {v.size for v in t.values()} == {'4096x4096x4096'}
    assert gpu_targets([r for r in rows if r.rung != 'torch cuda tf32']).keys() == {'triton_fp32', 'numba_cuda'}
    assert gpu_targets([]) == {}
    cpu = [LadderRow.timed(k, (8192,) * 3, Timing([9.0], 1)) for k in ('torch', 'micro')]   # CPU rows, larger: not read
    assert gpu_targets(rows + cpu) == t


def test_tf32_rows_are_held_to_the_tf32_peak():
    h100 = SimpleNamespace(multi_processor_count=132, major=9, minor=0)
    fp32,tf32 = gpu_peak(h100, mhz=1980),gpu_peak(h100, mhz=1980, tf32=True)
    rows = add_ratios([row('torch cuda', (4096,) * 3, 0.003), row('torch cuda tf32', (4096,) * 3, 0.0004, dtype='tf32')],
                      base='cuda naive', ref='torch cuda', peaks={'cuda': fp32.gflops, 'cuda tf32': tf32.gflops})
    assert rows[0].pct_peak == pytest.approx(100 * rows[0].gflops / fp32.gflops)
    assert rows[1].pct_peak == pytest.approx(100 * rows[1].gflops / tf32.gflops)
    assert TARGETS['triton_fp32'].met(0.85) and not TARGETS['numba_cuda'].met(0.2)
    rows[1].pct_peak = None
    add_ratios(rows, base='cuda naive', ref='torch cuda', peaks={'cuda': fp32.gflops, 'cuda tf32': None})
    assert rows[1].pct_peak is None, "a GPU whose TF32 peak is unknown: no % for a TF32 row, never the FP32 peak's"


def test_matmul_triton_without_triton_says_how_to_install_it(monkeypatch):
    "A learner without the GPU extra gets an ImportError naming Triton and the install command, not an AttributeError."
    monkeypatch.setattr(nb_01c, 'triton', None)
    monkeypatch.setattr(nb_01c, '_version', lambda package: None)
    with pytest.raises(ImportError, match=r"triton is not installed: pip install -e '\.\[gpu\]'"):
        matmul_triton(*operands(3, 4, 5))


@needs_triton
@simulated
def test_triton_imported_before_the_course_still_interprets():
    "PyTorch's FLOP counter (notebook 01b) imports Triton; `exp.nb_01c` imported after it must still run Triton's interpreter."
    import subprocess, sys
    code = ("import torch; from torch.utils.flop_counter import FlopCounterMode; import sys; assert 'triton' in sys.modules\n"
            "from exp.nb_01c import matmul_triton\n"
            "a, b = torch.randn(9, 5), torch.randn(5, 3); torch.testing.assert_close(matmul_triton(a, b), a @ b); print('ok')")
    env = {k: v for k,v in os.environ.items() if k != 'TRITON_INTERPRET'}
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == 'ok', res.stderr[-2000:]


def test_compiler_options_go_to_a_gpu_only(monkeypatch):
    "The register cap of the register-tiled kernel: two blocks of THREADS x THREADS threads fit an SM's 64K registers; the simulator, however it was turned on, gets no options (it refuses them)."
    assert 2 * THREADS * THREADS * nb_01c.MAX_REGS == 2**16
    import numba
    sim = numba.core.config.ENABLE_CUDASIM               # on by itself here, without a GPU
    assert nb_01c._gpu_options(max_registers=128) == ({} if sim else {'max_registers': 128})
    monkeypatch.setattr(numba.core.config, 'ENABLE_CUDASIM', not sim)
    assert nb_01c._gpu_options(max_registers=128) == ({'max_registers': 128} if sim else {})


@needs_triton
@simulated
def test_a_triton_that_fails_to_import_with_any_error_leaves_the_rest_of_the_module(tmp_path):
    "A Triton written for an older numpy raises AttributeError on import: the numba.cuda kernels still load, and need_triton names the error."
    import subprocess, sys
    (tmp_path/'triton').mkdir()
    (tmp_path/'triton'/'__init__.py').write_text("raise AttributeError(\"module 'numpy' has no attribute 'float_'\")\n")
    code = ("import torch\nfrom exp.nb_01c import matmul_cuda_naive, need_triton\n"
            "a, b = torch.randn(3, 4), torch.randn(4, 2); torch.testing.assert_close(matmul_cuda_naive(a, b), a @ b)\n"
            "try: need_triton()\nexcept ImportError as e: print(e)")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))])}
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and "AttributeError: module 'numpy' has no attribute 'float_'" in res.stdout, res.stderr[-2000:]
    assert 'an older numpy may fix it' in res.stdout


@needs_triton
def test_tuning_checks_its_arguments_before_timing_and_leaves_the_random_stream_alone():
    small = TRITON_CONFIGS[-1:]
    with pytest.raises(ValueError, match='tf32 must be'): tune_triton(8, 8, 8, tf32='no', configs=small)
    with pytest.raises(ValueError, match='repeats must be'): tune_triton(8, 8, 8, configs=small, repeats=0)
    with pytest.raises(ValueError, match='configs is a list of configs; got one config'): tune_triton(8, 8, 8, configs=small[0])
    with pytest.raises(ValueError, match='a Triton config is a dict with the keys BM'): tune_triton(8, 8, 8, configs=[dict(small[0], BM=0)])
    a,b = operands(8, 8, 8)
    for bad in ((64, 64, 32, 4, 3), {}):
        with pytest.raises(ValueError, match='a Triton config is a dict'): matmul_triton(a, b, config=bad)
    torch.manual_seed(0); ref = torch.randn(3)
    torch.manual_seed(0); best,times = tune_triton(8, 8, 8, configs=(c for c in small), repeats=1)   # a generator: used once
    assert torch.equal(torch.randn(3), ref) and best == small[0] and set(times) == {0}


@needs_triton
def test_gpu_ladder_checks_its_sizes_before_tuning(monkeypatch):
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *a, **kw: pytest.fail("tuned before the sizes were checked"))
    with pytest.raises(ValueError, match=r"sizes must be a list of \(m, k, n\) products.*got \(8, 8, 'x'\)"):
        gpu_ladder({'triton': matmul_triton}, [(8, 8, 8), (8, 8, 'x')], repeats=1)


@needs_triton
def test_a_triton_that_fails_to_import_is_named_with_its_error(monkeypatch):
    "Triton installed but failing to import (a missing library, say): `need_triton` names the version and the error, not only 'install it'."
    monkeypatch.setattr(nb_01c, 'triton', None)
    monkeypatch.setattr(nb_01c, '_TRITON_ERROR', ImportError('libcuda.so.1: cannot open shared object file'))
    with pytest.raises(ImportError) as e: nb_01c.need_triton()
    assert f"triton {importlib.metadata.version('triton')} failed" in str(e.value) and 'libcuda.so.1' in str(e.value)


@pytest.mark.parametrize('name', [*CUDA_RUNGS, pytest.param('triton', marks=needs_triton)])
def test_the_result_is_float32_whatever_the_default_dtype(name):
    "The kernels multiply float32 and give float32, even where torch's default dtype was set to float64."
    a, b = torch.randn(5, 7).to(DEVICE), torch.randn(7, 3).to(DEVICE)
    f = CUDA_RUNGS.get(name, nb_01c.matmul_triton)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try: c = f(a, b)
    finally: torch.set_default_dtype(old)
    assert c.dtype == torch.float32


def test_round_to_tf32_names_what_it_was_given():
    for bad, match in (([1.0], 'not a list'), (torch.ones(2, dtype=torch.float64), 'not a float64 tensor of shape \\(2,\\)')):
        with pytest.raises(ValueError, match=match): nb_01c.round_to_tf32(bad)


@needs_triton
def test_triton_kernel_with_several_blocks_of_columns():
    "The shapes above fit the kernel's blocks of columns in one; blocks are visited in groups of rows, so check several."
    a,b = operands(70, 19, 300)
    torch.testing.assert_close(matmul_triton(a, b), a @ b, rtol=1e-4, atol=1e-4)


def test_gpu_ladder_tunes_each_triton_rung_in_its_precision(monkeypatch):
    tuned = []
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *size, configs=None: tuned.append(size))
    monkeypatch.setattr(nb_01c, 'measure_ladder', lambda rungs, sizes, **kw: [])
    monkeypatch.setattr(nb_01c, '_TUNED', {})
    gpu_ladder({'triton tf32': None}, [(8, 20, 12)]); gpu_ladder({'triton': None}, [(8, 20, 12)])
    assert tuned == [(8, 20, 12, True), (8, 20, 12, False)]
