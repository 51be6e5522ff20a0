"Tests for exp.nb_01: every matmul rung against torch, the argument checks, and the timing helpers."
import math, time

import pytest, torch
from hypothesis import given, settings, strategies as st

from strategies import matmul_pair

import exp.nb_01 as nb

RUNGS = [nb.matmul_loops, nb.matmul_elementwise, nb.matmul_broadcast, nb.matmul_einsum, nb.matmul_torch]
ids = [f.__name__ for f in RUNGS]


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@settings(deadline=None, max_examples=40)
@given(pair=matmul_pair())
def test_rung_matches_torch(matmul, pair):
    a,b = pair
    a0,b0 = a.clone(),b.clone()
    c = matmul(a, b)
    assert c.shape == (a.shape[0], b.shape[1]) and c.dtype == a.dtype
    torch.testing.assert_close(c, a @ b)
    assert torch.equal(a, a0) and torch.equal(b, b0), "the inputs must not change"
    assert c.data_ptr() not in (a.data_ptr(), b.data_ptr()) or c.numel() == 0, "the result is a new tensor"


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('shapes', [((1, 7), (7, 1)), ((7, 1), (1, 7)), ((1, 5), (5, 4)), ((4, 5), (5, 1)),
                                    ((0, 3), (3, 2)), ((3, 0), (0, 2)), ((3, 2), (2, 0))])
def test_edge_shapes(matmul, shapes):
    torch.manual_seed(0)
    a,b = torch.randn(*shapes[0], dtype=torch.float64),torch.randn(*shapes[1], dtype=torch.float64)
    c = matmul(a, b)
    assert c.shape == (shapes[0][0], shapes[1][1]) and c.dtype == torch.float64
    torch.testing.assert_close(c, a @ b)


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
def test_transposed_inputs(matmul):
    torch.manual_seed(0)
    a,b = torch.randn(6, 4).T,torch.randn(3, 6).T          # (4,6) @ (6,3), both non-contiguous
    assert not a.is_contiguous() and not b.is_contiguous()
    torch.testing.assert_close(matmul(a, b), a.contiguous() @ b.contiguous())


@pytest.mark.parametrize('matmul', RUNGS, ids=ids)
@pytest.mark.parametrize('a,b,expected', [
    (torch.randn(3), torch.randn(3, 2), ['(3,)', '(3, 2)', '2-D']),
    (torch.randn(2, 3, 4), torch.randn(4, 2), ['(2, 3, 4)', '(4, 2)', '2-D']),
    (torch.randn(2, 3), torch.randn(4, 5), ['(2, 3)', '(4, 5)', '3 columns', '4 rows']),
    (torch.randn(2, 3), torch.randn(3, 5, dtype=torch.float64), ['(2, 3)', '(3, 5)', 'float32', 'float64', 'dtype']),
    ([[1., 2.]], torch.randn(2, 1), ['list', '(2, 1)', 'tensors']),
], ids=['1-D', '3-D', 'inner mismatch', 'dtype mismatch', 'not a tensor'])
def test_bad_arguments(matmul, a, b, expected):
    with pytest.raises(ValueError) as e: matmul(a, b)
    for part in expected: assert part in str(e.value), f"{part!r} not in {str(e.value)!r}"


def test_check_matmul_args_accepts_matrices():
    assert nb.check_matmul_args(torch.zeros(2, 3), torch.zeros(3, 4)) is None
    assert nb.check_matmul_args(torch.zeros(0, 0), torch.zeros(0, 5)) is None


# --- timing helpers ---------------------------------------------------------------------------------------

def test_timing_statistics():
    t = nb.Timing([5., 1., 3., 2., 4.], number=10)
    assert t.median == 3 and t.min == 1 and t.iqr == 2       # quartiles 2 and 4
    assert t.times == [5., 1., 3., 2., 4.] and t.number == 10
    assert nb.Timing([0.002]).iqr == 0
    with pytest.raises(ValueError): nb.Timing([])


def test_timing_repr():
    r = repr(nb.Timing([1.2e-3, 1.23e-3, 1.25e-3, 1.3e-3], number=100))
    assert r.startswith('1.24 ms ± ') and ' ms per call' in r and '4 runs' in r and '100 calls' in r


@pytest.mark.parametrize('seconds,expected', [(3, '3 s'), (1.5e-3, '1.5 ms'), (1.234e-3, '1.23 ms'), (5e-6, '5 µs'),
                                              (2e-9, '2 ns'), (0, '0 ns'), (999e-6, '999 µs'), (1234.5, '1,234 s')])
def test_fmt_time(seconds, expected):
    assert nb.fmt_time(seconds) == expected


def test_fmt_time_unit():
    assert nb.fmt_time(4e-5, 'ms') == '0.04 ms'


def test_time_fn_counts_calls_and_passes_arguments():
    calls = []
    def f(x, y=0): calls.append((x, y))
    t = nb.time_fn(f, 1, y=2, repeats=4, min_time=0.001, warmup=2)
    assert isinstance(t, nb.Timing) and len(t.times) == 4 and t.number >= 1
    assert set(calls) == {(1, 2)}
    assert len(calls) >= 2 + 4 * t.number                   # warm-up, then `repeats` runs of `number` calls
    assert all(x > 0 for x in t.times)


def test_time_fn_chooses_number_from_min_time():
    def slow(): time.sleep(0.02)
    t = nb.time_fn(slow, repeats=2, min_time=0.01, warmup=0)
    assert t.number == 1 and len(t.times) == 2
    assert t.min >= 0.02                                    # sleep never returns early
    fast = nb.time_fn(lambda: None, repeats=2, min_time=0.005, warmup=0)
    assert fast.number > 1                                  # a no-op needs many calls to fill 5 ms
    assert fast.number * fast.times[0] >= 0.005             # the calibrating run lasted at least min_time
    with pytest.raises(ValueError): nb.time_fn(lambda: None, repeats=0)


def test_speedups_and_table():
    ts = {'slow': nb.Timing([1.0, 1.0, 1.0]), 'fast': nb.Timing([0.01, 0.01, 0.01], number=100)}
    ups = nb.speedups(ts)
    assert ups['slow'] == 1 and math.isclose(ups['fast'], 100)
    assert math.isclose(nb.speedups(ts, base='fast')['slow'], 0.01)
    table = nb.speedup_table(ts, base='slow')
    assert 'slow' in table and 'fast' in table and '100.0x' in table and '10 ms' in table
    assert len(table.splitlines()) == 3


def test_plot_timings():
    import matplotlib; matplotlib.use('Agg')
    ts = {'a': nb.Timing([1e-3, 2e-3]), 'b': nb.Timing([1e-5])}
    ax = nb.plot_timings(ts, title='t')
    assert ax.get_xscale() == 'log' and [t.get_text() for t in ax.get_yticklabels()] == ['a', 'b']
    import matplotlib.pyplot as plt; plt.close('all')


def test_chain_exports():
    assert {'matmul_loops', 'time_fn', 'Timing', 'test_near', 'load_mnist', 'torch'} <= set(nb.__all__)
