"Tests for exp.measure: the stopwatch, side-by-side timing, timing checks, FLOPs and peaks, the ladder runner, the targets."
import math, os, platform, re, time
from types import SimpleNamespace

import numpy as np, pytest, torch

import exp.measure as ms


# --- the stopwatch ---------------------------------------------------------------------------------------

def test_timing_statistics():
    t = ms.Timing([5., 1., 3., 2., 4.], number=10)
    assert t.median == 3 and t.min == 1 and t.quartiles == (2, 4) and t.iqr == 2
    assert t.times == [5., 1., 3., 2., 4.] and t.number == 10
    assert ms.Timing([0.002]).iqr == 0 and ms.Timing([0.002]).quartiles == (0.002, 0.002)
    with pytest.raises(ValueError, match='at least one time'): ms.Timing([])


def test_timing_repr():
    r = repr(ms.Timing([1.2e-3, 1.23e-3, 1.25e-3, 1.3e-3], number=100))
    assert r.startswith('1.24 ms ± ') and r.split(' per call')[0].endswith(' µs') and '4 runs' in r and '100 calls' in r   # the spread in its own unit


@pytest.mark.parametrize('seconds,expected', [(3, '3 s'), (1.5e-3, '1.5 ms'), (1.234e-3, '1.23 ms'), (5e-6, '5 µs'),
                                              (2e-9, '2 ns'), (0, '0 ns'), (999e-6, '999 µs'), (1234.5, '1,234 s'),
                                              (0.9996, '1 s'), (999.7e-6, '1 ms'), (9.9996e-7, '1 µs'), (999.95, '1,000 s')])   # rounded up: not '1e+03 ms'
def test_fmt_time(seconds, expected):
    assert ms.fmt_time(seconds) == expected


def test_fmt_time_unit():
    assert ms.fmt_time(4e-5, 'ms') == '0.04 ms'


@pytest.mark.parametrize('bad, error, named', [
    (lambda: ms.Timing([1.0], 1.7), ValueError, 'must be an int; got 1.7'),     # used to become 1 call per run
    (lambda: ms.Timing([1.0], True), ValueError, 'must be an int; got True'),
    (lambda: ms.Timing([1.0], 0), ValueError, 'at least 1'),
    (lambda: ms.fmt_time('1'), TypeError, "not the text '1'"),                  # used to fail in format(): "Unknown format code 'g'"
    (lambda: ms.time_side_by_side([lambda: None]), TypeError, 'takes a dict {name: function}'),   # used to fail on list.values
])
def test_bad_arguments_to_the_stopwatch_are_named(bad, error, named):
    with pytest.raises(error, match=re.escape(named)): bad()
    assert ms.Timing([1.0], np.int64(3)).number == 3 and ms.fmt_time(np.float32(0.002)) == '2 ms'   # NumPy's numbers still do


def test_time_fn_counts_calls_and_passes_arguments():
    calls = []
    def f(x, y=0): calls.append((x, y))
    t = ms.time_fn(f, 1, y=2, repeats=4, min_time=0.001, warmup=2)
    assert isinstance(t, ms.Timing) and len(t.times) == 4 and t.number >= 1
    assert set(calls) == {(1, 2)}
    assert len(calls) >= 2 + 4 * t.number                   # warm-up, then `repeats` runs of `number` calls
    assert all(x > 0 for x in t.times)


def test_time_fn_chooses_number_from_min_time():
    def slow(): time.sleep(0.02)
    t = ms.time_fn(slow, repeats=2, min_time=0.01, warmup=0)
    assert t.number == 1 and len(t.times) == 2
    assert t.min >= 0.02                                    # sleep never returns early
    fast = ms.time_fn(lambda: None, repeats=2, min_time=0.005, warmup=0)
    assert fast.number > 1                                  # a no-op needs many calls to fill 5 ms
    assert fast.number * fast.times[0] >= 0.005             # the calibrating run lasted at least min_time
    with pytest.raises(ValueError): ms.time_fn(lambda: None, repeats=0)


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with ms.torch_threads(1): assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with ms.torch_threads(1): raise RuntimeError('inside')
    assert torch.get_num_threads() == before               # restored after an error too
    for bad in (0, -1, 1.5, None, True):
        with pytest.raises(ValueError, match='an int, at least 1'):
            with ms.torch_threads(bad): pass


def test_time_side_by_side_takes_turns():
    order = []
    res = ms.time_side_by_side({'a': lambda: order.append('a'), 'b': lambda: order.append('b')}, repeats=3, min_time=0.0)
    assert list(res) == ['a', 'b'] and all(len(t.times) == 3 for t in res.values())
    assert order[:2] == ['a', 'b']                          # warm-up: each once
    runs = order[2:]                                        # then turns: all of a's calls of one run, then b's, and again
    firsts = [k for i,k in enumerate(runs) if i == 0 or runs[i - 1] != k]
    assert firsts == ['a', 'b'] * 4                         # each one's calls per run chosen, then 3 turns
    with pytest.raises(ValueError): ms.time_side_by_side({'a': lambda: None}, repeats=0)
    with pytest.raises(ValueError, match='repeats must be an int'): ms.time_side_by_side({'a': lambda: None}, repeats=True)
    with pytest.raises(ValueError, match='warmup must be an int'): ms.time_fn(lambda: None, warmup=-1)


def test_time_side_by_side_keeps_each_ones_calls_per_run():
    "Each turn used to choose its own number of calls: a Timing said '1 call each' of runs of 1 and of 2 calls."
    calls = []
    res = ms.time_side_by_side({'f': lambda: calls.append(1)}, repeats=3, min_time=0.001)
    number = res['f'].number
    tried = [m * 10**e for e in range(12) for m in (1, 2, 5)]
    calibrating = sum(tried[:tried.index(number) + 1])      # the runs that chose `number`
    assert len(calls) == 1 + calibrating + 3 * number        # warm-up, choice, then 3 runs of exactly `number` calls


# --- tables, plots, checks ------------------------------------------------------------------------------------

def test_speedup_table_takes_names_that_are_not_strings():
    "time_side_by_side and speedups take any keys; the table failed on len() of an int."
    table = ms.speedup_table({1: ms.Timing([2e-3]), (2, 'b'): ms.Timing([1e-3])}, base=1)
    assert 'speed-up vs 1' in table and "(2, 'b')" in table and '2x' in table


def test_speedup_table_shows_a_large_slowdown():
    ts = {'fast': ms.Timing([1e-6]), 'slow': ms.Timing([1.3e-3])}
    assert '0.00077x' in ms.speedup_table(ts)                # was 0.0x


def test_a_tf32_row_is_held_to_no_peak_but_its_own():
    row = ms.LadderRow.timed('t', (64, 64, 64), ms.Timing([1e-5]), dtype='tf32', device='cuda')
    ms.add_ratios([row], peaks={'cuda': 1000.})
    assert row.pct_peak is None                               # was a % of the float32 peak
    ms.add_ratios([row], peaks={'cuda': 1000., 'cuda tf32': 8000.})
    assert row.pct_peak == pytest.approx(100 * row.gflops / 8000)


def test_speedups_and_table():
    ts = {'slow': ms.Timing([1.0, 1.0, 1.0]), 'fast': ms.Timing([0.01, 0.01, 0.01], number=100)}
    ups = ms.speedups(ts)
    assert ups['slow'] == 1 and math.isclose(ups['fast'], 100)
    assert math.isclose(ms.speedups(ts, base='fast')['slow'], 0.01)
    table = ms.speedup_table(ts, base='slow')
    assert 'slow' in table and 'fast' in table and '100x' in table and '10 ms' in table
    assert len(table.splitlines()) == 3


def test_plot_timings():
    import matplotlib; matplotlib.use('Agg')
    ts = {'a': ms.Timing([1e-3, 2e-3]), 'b': ms.Timing([1e-5])}
    ax = ms.plot_timings(ts, title='t')
    assert ax.get_xscale() == 'log' and [t.get_text() for t in ax.get_yticklabels()] == ['a', 'b']
    ax = ms.plot_timings({1: ms.Timing([4e-3]), 2: ms.Timing([2e-3]), 4: ms.Timing([1e-3])})   # keyed by threads: labels, not places
    assert [t.get_text() for t in ax.get_yticklabels()] == ['1', '2', '4']
    assert [p.get_y() + p.get_height() / 2 for p in ax.patches] == [t.get_position()[1] for t in ax.texts] == [0, 1, 2]
    assert [t.get_text() for t in ax.texts] == [' 4 ms  (1x)', ' 2 ms  (2x)', ' 1 ms  (4x)']
    ms.plt.close('all')


def test_check_faster_uses_the_fastest_runs():
    ts = {'slow': ms.Timing([1.0, 5.0, 5.0]), 'fast': ms.Timing([0.05, 0.5, 0.5])}
    assert ms.check_faster(ts, 'fast', 'slow', by=10) == pytest.approx(20)   # medians are 10x apart, fastest runs 20x
    with pytest.raises(AssertionError) as e: ms.check_faster(ts, 'fast', 'slow', by=50)
    msg = str(e.value)
    assert "'fast'" in msg and "'slow'" in msg and '50 ms' in msg and '1 s' in msg and 'busy' in msg and 're-run the cell' in msg


def test_check_faster_and_similar_name_the_argument_whose_timing_is_missing():
    ts = {'slow': ms.Timing([1.0]), 'fast': ms.Timing([0.01])}
    with pytest.raises(ValueError, match="slow 'slowx' is not one of the timings"): ms.check_faster(ts, 'fast', 'slowx')
    with pytest.raises(ValueError, match="a 'fats' is not one of the timings"): ms.check_similar(ts, 'fats', 'slow')


def test_the_helpers_name_a_missing_number_or_a_list_of_rungs():
    "A skipped row's median is None; a list of functions is not a dict of rungs."
    with pytest.raises(ValueError, match='positive number of seconds; got None'): ms.gflops(8, 8, 8, None)
    with pytest.raises(TypeError, match='a number of seconds; got None'): ms.fmt_time(None)
    assert ms.fmt_time(torch.tensor(2e-3)) == ms.fmt_time(np.array(2e-3)) == '2 ms'             # one number, in a tensor or an array
    assert ms.gflops(8, 8, 8, torch.tensor(1e-6)) == pytest.approx(ms.gflops(8, 8, 8, 1e-6))
    with pytest.raises(ValueError, match=r'rungs must be a dict \{name: function of a, b\}'): ms.measure_ladder([torch.matmul], [(8, 8, 8)])


def test_check_similar():
    ts = {'a': ms.Timing([1.0, 3.0]), 'b': ms.Timing([1.5, 1.6]), 'c': ms.Timing([4.0])}
    assert ms.check_similar(ts, 'a', 'b') == pytest.approx(1 / 1.5)
    with pytest.raises(AssertionError, match=r"'a' and 'c'.*4x apart.*re-run the cell"): ms.check_similar(ts, 'a', 'c')
    assert ms.check_similar(ts, 'a', 'c', within=4) == pytest.approx(0.25)


# --- FLOPs and peaks ---------------------------------------------------------------------------------------------

def test_flops_and_peak():
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc: torch.randn(5, 7) @ torch.randn(7, 3)
    assert ms.matmul_flops(5, 7, 3) == fc.get_total_flops()
    assert ms.gflops(1000, 1000, 1000, 2.0) == pytest.approx(1.0)
    p = ms.Peak(2, 16, 2, 2.0)
    assert p.gflops == pytest.approx(256.0)
    assert '256 GFLOP/s' in repr(p) and 'clock unknown' in repr(ms.Peak(1, 8, 1, None))
    assert ms.Peak(1, 8, 1, None).gflops is None
    assert ms.cpu_peak(simd_bits=256).lanes == 8 and ms.cpu_peak(torch.float64, simd_bits=256).lanes == 4
    assert ms.cpu_peak().cores >= 1 and ms.cpu_peak(cores=3).cores == 3
    best,n = ms.practical_peak((16, 32), repeats=1)
    assert best > 0 and n in (16, 32)



_CPUINFO = "processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\nmodel name\t: {name}\n"

@pytest.mark.parametrize('vendor, family, name, expected', [('AuthenticAMD', 25, 'AMD EPYC 9654', 25), ('AuthenticAMD', 26, 'AMD EPYC 9575F', 26),
                                                            ('GenuineIntel', 6, 'Intel(R) Xeon(R) Platinum 8480+', None)])
def test_amd_family_reads_the_makers_family_number(tmp_path, vendor, family, name, expected):
    info = tmp_path/'cpuinfo'
    info.write_text(_CPUINFO.format(vendor=vendor, family=family, name=name) * 2)
    assert ms.amd_family(info) == expected

def test_amd_family_reads_the_processor_name_where_there_is_no_cpuinfo(tmp_path, monkeypatch):
    monkeypatch.setattr(ms.platform, 'processor', lambda: 'AMD64 Family 25 Model 97 Stepping 2, AuthenticAMD')   # as Windows names it
    assert ms.amd_family(tmp_path/'none') == 25
    monkeypatch.setattr(ms.platform, 'processor', lambda: 'Intel64 Family 6 Model 183 Stepping 1, GenuineIntel')
    assert ms.amd_family(tmp_path/'none') is None

@pytest.mark.parametrize('family, bits, lanes', [(25, 512, 8), (25, 256, 8), (26, 512, 16), (None, 512, 16)])
def test_zen4_counts_its_512_bit_instructions_as_two_256_bit_halves(monkeypatch, family, bits, lanes):
    "Zen 4's FMA units are 256 bits wide: counting 16 float32 lanes would double its peak. Zen 5 and others keep the instruction's width."
    monkeypatch.setattr(ms, 'amd_family', lambda: family)
    monkeypatch.setattr(ms, 'x86_without_fma', lambda: False)
    monkeypatch.setattr(ms, 'measured_ghz', lambda: 3.0)
    monkeypatch.setattr(ms, 'os_ghz', lambda: 3.0)
    p = ms.cpu_peak(simd_bits=bits, cores=1)
    assert p.lanes == lanes and p.gflops == pytest.approx(lanes * 2 * 2 * 3.0)
    assert ('two 256-bit halves' in repr(p)) == (lanes * 32 < bits)



@pytest.mark.parametrize('flags, expected', [('fpu sse sse2 avx fma avx2', False), ('fpu sse sse2 sse4_2', True), (None, False)])
def test_an_x86_cpu_without_fma_counts_one_unit(tmp_path, monkeypatch, flags, expected):
    "A CPU without FMA does a multiply and an add each cycle: counting 2 FMA units doubled its peak."
    info = tmp_path/'cpuinfo'
    info.write_text('processor\t: 0\nvendor_id\t: GenuineIntel\n' + (f'flags\t\t: {flags}\n' if flags else ''))
    monkeypatch.setattr(ms.platform, 'machine', lambda: 'x86_64')
    assert ms.x86_without_fma(info) is expected
    assert ms.x86_without_fma(tmp_path/'none') is False                       # nothing to read: assume FMA
    monkeypatch.setattr(ms, 'x86_without_fma', lambda: expected)
    monkeypatch.setattr(ms, 'amd_family', lambda: None)
    monkeypatch.setattr(ms, 'measured_ghz', lambda: None)
    monkeypatch.setattr(ms, 'os_ghz', lambda: 2.0)
    assert ms.cpu_peak(simd_bits=128, cores=1).fma_units == (1 if expected else 2)
    assert ms.cpu_peak(simd_bits=128, cores=1, fma_units=3).fma_units == 3   # given: used as it is
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match='fma_units must be an int'): ms.cpu_peak(fma_units=bad)

def _topology(root, siblings):
    "A fake Linux CPU topology under `root`: `siblings` is `{cpu: the list of the CPUs on its core, as Linux writes it}`."
    for c,sib in siblings.items():
        d = root/f'cpu{c}'/'topology'
        d.mkdir(parents=True)
        (d/'thread_siblings_list').write_text(f'{sib}\n')
    return root

def test_cpu_cores_counts_a_core_once(tmp_path):
    "Two hardware threads of one core count once; a CPU with no topology counts as a core of its own."
    top = _topology(tmp_path, {0: '0,2', 1: '1,3', 2: '0,2', 3: '1,3', 4: '4-5', 5: '4-5'})
    assert ms.cpu_cores(range(6), top) == 3
    assert ms.cpu_cores([0, 2], top) == 1 and ms.cpu_cores([0, 1], top) == 2
    assert ms.cpu_cores(range(8), top) == 5            # cpu6 and cpu7 undescribed: one core each
    assert ms.cpu_cores(range(3), tmp_path/'none') == 3
    assert 1 <= ms.cpu_cores() <= len(ms.usable_cpus()) <= os.cpu_count()

@pytest.mark.parametrize('major,minor,lanes', [(7, 0, 64), (8, 0, 64), (8, 6, 128), (9, 0, 128)])
def test_gpu_peak_from_properties(major, minor, lanes):
    props = SimpleNamespace(multi_processor_count=10, major=major, minor=minor)
    p = ms.gpu_peak(props, mhz=1500)
    assert (p.cores, p.lanes, p.fma_units, p.device) == (10, lanes, 1, 'cuda')
    assert p.gflops == pytest.approx(10 * lanes * 2 * 1.5) and 'SMs' in repr(p)
    props.clock_rate = 2_000_000                                # kHz, where PyTorch reports it
    assert ms.gpu_peak(props).ghz == pytest.approx(2.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer where PyTorch sees no GPU")
def test_gpu_peak_without_gpu():
    assert ms.gpu_peak() is None


# --- the ladder runner ------------------------------------------------------------------------------------------

def test_measure_ladder_rows_ratios_and_table():
    rungs = {'loops': lambda a, b: torch.tensor([[sum(x * y for x,y in zip(r, c)) for c in b.T.tolist()] for r in a.tolist()]),
             'torch': torch.mm, 'einsum': lambda a, b: torch.einsum('ik,kj->ij', a, b)}
    rows = ms.measure_ladder(rungs, [(8, 8, 8), (2, 3, 4)], repeats=2, min_time=0.001)
    assert [(r.rung, r.m) for r in rows] == [('loops', 2), ('torch', 2), ('einsum', 2), ('loops', 8), ('torch', 8), ('einsum', 8)]
    assert all(isinstance(r, ms.LadderRow) and r.measured and r.device == 'cpu' for r in rows)
    ms.add_ratios(rows, peaks={'cpu': 100.0})
    for r in rows:
        assert r.median > 0 and r.gflops > 0 and r.runs == 2 and r.x_base > 0 and r.vs_ref > 0
        assert r.pct_peak == pytest.approx(r.gflops)            # 100 GFLOP/s peak: % equals GFLOP/s
    assert [r.x_base for r in rows if r.rung == 'loops'] == [1.0, 1.0]
    table = ms.ladder_table(rows)
    body,legend = table.split('\n\n')
    assert body.count('\n') == len(rows) and 'GFLOP/s' in body and '8x8x8' in body
    for col in ('median', 'x loops', 'vs torch', 'GFLOP/s', '% peak'): assert col in legend
    assert '\n\n' not in ms.ladder_table(rows, legend=False)
    import matplotlib; matplotlib.use('Agg')
    ax = ms.plot_ladder(rows, {'peak': 100.0})
    assert len(ax.patches) == len(rows)
    ms.plt.close('all')


def test_add_ratios_uses_each_devices_peak():
    rows = [ms.LadderRow.timed('torch', (2, 2, 2), ms.Timing([1e-6])),
            ms.LadderRow.timed('gpu', (2, 2, 2), ms.Timing([1e-6]), device='cuda')]
    ms.add_ratios(rows, peaks={'cpu': 1.0, 'cuda': 100.0})
    assert rows[0].pct_peak == pytest.approx(100 * rows[0].gflops) and rows[1].pct_peak == pytest.approx(rows[1].gflops)
    rows[1].pct_peak = None
    ms.add_ratios(rows, peaks={'cpu': 1.0, 'cuda': None})      # no GPU peak known: no % for the GPU row, never the CPU's
    assert rows[1].pct_peak is None


def test_measure_ladder_records_a_rungs_device():
    class OnDevice:
        device = 'cuda'
        def __call__(self, a, b): return a @ b
    rows = ms.measure_ladder({'dev': OnDevice()}, [(2, 2, 2)], repeats=1, min_time=0.0)
    assert rows[0].device == 'cuda'


def test_measure_ladder_times_small_products_on_one_thread():
    seen = []
    def spy(a, b): seen.append((a.shape[0], torch.get_num_threads())); return a @ b
    before = torch.get_num_threads()
    # max_call is far beyond any estimate, so 128^3 is never probed (a probe runs on one thread by design):
    # with the default 2 s a slow call at 2x3x4 on a busy machine scaled to > 2 s at 128^3 and set off a probe
    ms.measure_ladder({'spy': spy}, [(2, 3, 4), (128, 128, 128)], repeats=1, min_time=0.0, max_call=1e3)
    assert {t for m,t in seen if m == 2} == {1} and {t for m,t in seen if m == 128} == {before}
    assert torch.get_num_threads() == before


def test_measure_ladder_skips_slow_rungs():
    calls = []
    def slow(a, b):                       # one millisecond per row of a
        calls.append(a.shape[0]); time.sleep(1e-3 * a.shape[0]); return a @ b
    rows = ms.measure_ladder({'slow': slow}, [(2, 1, 1), (3000, 1, 1)], repeats=1, min_time=0.0, max_call=0.05)
    assert rows[0].measured and not rows[1].measured and 'per call' in rows[1].skipped
    assert max(calls) < 3000, "the slow call at the big size never ran"
    ms.add_ratios(rows)
    assert rows[1].x_base is None and 'skipped' in ms.ladder_table(rows)
    import matplotlib; matplotlib.use('Agg')
    ax = ms.plot_ladder(rows)
    assert any('skipped' in t.get_text() for t in ax.get_legend().get_texts())
    ms.plt.close('all')
    with pytest.raises(ValueError, match='no rows to draw'): ms.plot_ladder([])


def test_measure_ladder_measures_a_fast_rung_a_tiny_first_size_makes_look_slow():
    "A call's fixed cost at 1x1x1, scaled by the FLOPs of 1024^3, guessed ~1,000 s and skipped torch.mm without measuring."
    def fixed_cost(a, b):                  # 2 ms per call, whatever the size: a call's overhead, not its work
        time.sleep(2e-3); return a @ b
    rows = ms.measure_ladder({'mm': fixed_cost}, [(1, 1, 1), (256, 256, 256)], repeats=1, min_time=0.0, max_call=0.1)
    assert rows[1].measured, rows[1].skipped    # the guess, 2 ms x 16.7 million, was 9 hours: 100x over max_call or more


def test_measure_ladder_is_not_fooled_by_one_delayed_probe_call():
    "A call that another program delayed (here: a sleep, once), scaled up by the corner's share of the product, would skip a fast rung: the probe times that corner again and keeps the faster call."
    calls = [0]
    def hiccup(a, b):
        calls[0] += 1
        if calls[0] == 2: time.sleep(0.05)         # the probe's first timed call, on a corner of 1 x 16 of 256 x 256
        return a @ b
    rows = ms.measure_ladder({'mm': hiccup}, [(256, 256, 256)], repeats=1, min_time=0.0, max_call=0.2)
    assert rows[0].measured, rows[0].skipped       # without the second call: 0.05 s x 4,096 = 205 s, skipped


def test_measure_ladder_stops_after_two_surprisingly_slow_calls():
    calls = []
    def cliff(a, b):                       # fast on small inputs, suddenly slow on the big one
        calls.append(a.shape[0]); time.sleep(0.2 if a.shape[0] > 100 else 0.0); return a @ b
    rows = ms.measure_ladder({'cliff': cliff}, [(2, 1, 1), (200, 1, 1)], repeats=3, min_time=0.0, max_call=0.05)
    assert rows[1].runs == 1 and rows[1].median >= 0.2
    assert calls.count(200) == 2           # the warm-up, then one timed call: slow twice, so not compilation


def test_measure_ladder_does_not_count_compilation():
    calls = []
    def compiles(a, b):                    # slow only on its first call at a new size, as a kernel compiling is
        calls.append(a.shape[0]); time.sleep(0.2 if calls.count(a.shape[0]) == 1 and a.shape[0] > 100 else 0.0); return a @ b
    rows = ms.measure_ladder({'compiles': compiles}, [(2, 1, 1), (200, 1, 1)], repeats=3, min_time=0.0, max_call=0.05)
    assert rows[1].runs == 3 and rows[1].median < 0.1


# --- the targets --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name,value,met', [('small', 1.01, True), ('small', 1.0, False), ('large', 0.6, True), ('large', 0.59, False),
                                           ('backward', 1.3, True), ('backward', 1.31, False), ('accuracy', 0.97, True),
                                           ('accuracy', 0.9699, False), ('train_seconds', 61, False)])
def test_targets(name, value, met):
    t = ms.TARGETS[name]
    assert t.met(value) is met
    assert t.report(value).endswith('met)') and ('NOT met' in t.report(value)) is not met


def test_a_target_without_a_figure_reads_not_measured():
    "No figure (the rung it is read against did not run) is not a failure of the code measured: the report says 'not measured', not 'NOT met'."
    t = ms.TARGETS['loops']
    assert t.met(None) is False and t.report(None).endswith('not measured)') and 'NOT met' not in t.report(None)


def test_a_figure_near_the_threshold_shows_the_digits_that_decide():
    t = ms.TARGETS['numba_cuda']     # >= 0.25, two decimals
    assert t.report(0.2497).startswith(f"{t.what}: 0.2497 (") and t.report(0.2497).endswith('NOT met)')   # not "0.25 ... NOT met"
    assert f"{t.what}: 0.25 (" in t.report(0.25) and f"{t.what}: 0.30 (" in t.report(0.3)   # otherwise the target's own format
    assert ms.TARGETS['loops'].shown(99_999.6) == '99,999.6' and ms.TARGETS['accuracy'].shown(0.96999) == '96.999%'


def test_target_text():
    assert str(ms.TARGETS['small']).startswith('at 5x784x10, ') and str(ms.TARGETS['small']).endswith('> 1.00')
    assert 'no figure' in ms.TARGETS['small'].report(None)


def test_target_figures():
    "A figure read from a row: typed fields, in words when printed, the size named where it is not the target's own."
    from dataclasses import asdict
    small = ms.TargetFigure.from_row('small', ms.LadderRow('micro', 3, 20, 4), 1.2)
    assert (small.size, small.rung, small.met) == ('3x20x4', 'micro', None)          # not at its size: not judged
    assert str(small) == ("small: rung 'micro' (measured at 3x20x4, not 5x784x10): the fastest compiled rung's speed relative to "
                          "torch @: 1.20 (target > 1.00 at 5x784x10: not judged at this size)")
    assert ms.TargetFigure.from_row('small', ms.LadderRow('micro', 5, 784, 10), 1.2).met is True
    assert 'measured at' not in str(ms.TargetFigure.from_row('small', ms.LadderRow('micro', 5, 784, 10), 0.9))
    assert 'measured at' not in str(ms.TargetFigure.from_row('backward', ms.LadderRow('hand', 1, 1, 1), 1.1))   # a target with no size
    assert asdict(small) == dict(target='small', size='3x20x4', rung='micro', value=1.2, met=None)   # as results.json has it


# --- bad input and hard cases ------------------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs,match', [(dict(min_time=math.nan), 'min_time'), (dict(min_time=math.inf), 'min_time'),
                                          (dict(min_time=-1), 'min_time'), (dict(repeats=1.5), 'repeats')])
def test_time_fn_refuses_settings_that_never_end(kwargs, match):
    with pytest.raises(ValueError, match=match): ms.time_fn(lambda: None, **kwargs)


def test_clear_errors():
    with pytest.raises(ValueError, match='empty'): ms.speedups({})
    with pytest.raises(ValueError, match='empty'): ms.speedup_table({})
    with pytest.raises(ValueError, match="'c' is not one of the timings: 'a', 'b'"): ms.speedups({'a': ms.Timing([1]), 'b': ms.Timing([2])}, 'c')
    for s in (0, -1.0, math.nan):
        with pytest.raises(ValueError, match='positive number of seconds'): ms.gflops(2, 2, 2, s)
    with pytest.raises(ValueError, match='float dtype, got int64$'): ms.measure_ladder({'mm': torch.mm}, [(2, 2, 2)], dtype=torch.int64)
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match='max_call'): ms.measure_ladder({'mm': torch.mm}, [(2, 2, 2)], max_call=bad)


def test_bad_arguments_are_named_not_left_to_fail_later():
    "Each of these used to pass silently (a ZeroDivisionError or KeyError later, or a wrong figure) or fail deep inside."
    ts = {'a': ms.Timing([1e-3]), 'b': ms.Timing([2e-3])}
    with pytest.raises(ValueError, match="'x' is not one of the timings"): ms.check_faster(ts, 'a', 'x')
    with pytest.raises(ValueError, match="'x' is not one of the timings"): ms.check_similar(ts, 'x', 'b')
    with pytest.raises(ValueError, match='by must be a factor of at least 1'): ms.check_faster(ts, 'a', 'b', by=0)
    with pytest.raises(ValueError, match='within must be a factor of at least 1'): ms.check_similar(ts, 'a', 'b', within=0.5)
    for times in ([0.], [-1.], [math.nan], [math.inf]):
        with pytest.raises(ValueError, match='must be positive seconds'): ms.Timing(times)
    with pytest.raises(ValueError, match='number of calls'): ms.Timing([1.], 0)
    with pytest.raises(ValueError, match='matmul_flops: m must be an int, at least 0, got -2'): ms.matmul_flops(-2, 3, 4)
    with pytest.raises(TypeError, match='timing.min or timing.median'): ms.gflops(2, 2, 2, ts['a'])
    with pytest.raises(ValueError, match="op must be one of >, >=, <, <=; got '=>'"): ms.Target('x', '=>', 1.)
    with pytest.raises(ValueError, match='cores must be an int, at least 1'): ms.cpu_peak(cores=0)
    with pytest.raises(ValueError, match='simd_bits must be 128, 256 or 512'): ms.cpu_peak(simd_bits=100)
    with pytest.raises(ValueError, match="unit must be one of s, ms, µs, ns; got 'sec'"): ms.fmt_time(1., 'sec')
    for sizes in (['5x784x10'], (3, 4, 5), [(3, 4)], [(3, -4, 5)], '5x784x10'):
        with pytest.raises(ValueError, match=r'sizes must be a list of \(m, k, n\) products'): ms.measure_ladder({'mm': torch.mm}, sizes)
    assert ms.fmt_time(1e-3, 'us') == ms.fmt_time(1e-3, 'µs') == '1,000 µs'


def test_measure_ladder_applies_max_call_at_the_first_size_too():
    calls = []
    def slow(a, b):                       # 0.1 ms per element of c: 4096 x 4096 would take half an hour
        calls.append(a.shape[0] * b.shape[1]); time.sleep(1e-4 * a.shape[0] * b.shape[1]); return a @ b
    rows = ms.measure_ladder({'slow': slow}, [(4096, 1, 4096)], repeats=1, min_time=0.0, max_call=0.2)
    assert not rows[0].measured and 'per call' in rows[0].skipped
    assert max(calls) < 4096 * 4096 and sum(calls) * 1e-4 < 1     # its probes slept under a second in all


def test_measure_ladder_on_empty_products():
    rows = ms.measure_ladder({'mm': torch.mm}, [(0, 3, 4), (3, 0, 4), (3, 4, 0)], repeats=1, min_time=0.0)
    assert [r.measured for r in rows] == [True] * 3


def test_cores_busy_starts_and_stops_its_processes(monkeypatch):
    started = []
    real_popen = ms.subprocess.Popen
    monkeypatch.setattr(ms.subprocess, 'Popen', lambda *a, **k: started.append(real_popen(*a, **k)) or started[-1])
    with ms.cores_busy(2):
        assert len(started) == 2 and all(p.poll() is None for p in started)     # both looping
    assert all(p.poll() is not None for p in started)                          # both stopped after the block
    with pytest.raises(ValueError, match='an int, at least 0'): ms.cores_busy(-1).__enter__()



@pytest.mark.parametrize('reported, measured, used', [(2.6, 4.1, 4.1), (3.5, 2.0, 3.5), (None, 3.0, 3.0), (2.6, None, 2.6), (None, None, None)])
def test_the_peak_takes_the_faster_of_the_reported_and_the_measured_clock(monkeypatch, reported, measured, used):
    "A VM's /proc/cpuinfo shows the nominal clock while turbo runs faster: a peak below what a core does is no ceiling."
    monkeypatch.setattr(ms, 'os_ghz', lambda: reported)
    monkeypatch.setattr(ms, 'measured_ghz', lambda: measured)
    assert ms.cpu_peak(simd_bits=512, cores=1).ghz == used


def test_the_measured_clock_is_a_plausible_clock_from_scalar_fmas():
    "Two scalar FMAs start each cycle on x86: 12 chains of them give the clock, between 0.5 and 7 GHz on any real core."
    ghz = ms.measured_ghz()
    if platform.machine().lower() not in ('x86_64', 'amd64'): assert ghz is None; return
    has_fma = ' fma ' in open('/proc/cpuinfo').read() if os.path.exists('/proc/cpuinfo') else False
    assert (ghz is not None) if has_fma else (ghz is None or 0.5 < ghz < 7), ghz   # a CPU with FMA: the compiler emits scalar FMAs
    assert ghz is None or 0.5 < ghz < 7, ghz
    assert ms.measured_ghz() is ghz                                # measured once per process


def test_ladder_tables_ratio_columns_are_to_the_rungs_they_name():
    "ladder_table's `x base` and `vs ref` columns are computed for the rungs its headers name, whatever add_ratios was given."
    rows = [ms.LadderRow.timed(name, (4, 4, 4), ms.Timing([t])) for name,t in (('loops', 1.0), ('torch', 1e-3), ('numba', 1e-2))]
    ms.add_ratios(rows)                                        # loops and torch
    body = ms.ladder_table(rows, base='numba', ref='loops', legend=False).splitlines()
    assert 'x numba' in body[0] and 'vs loops' in body[0]
    cols = {line.split()[1]: line.split()[7:9] for line in body[1:]}   # rung: [x base, vs ref] (median and IQR are 2 words each)
    assert cols['torch'] == ['10', '1000.00'] and cols['loops'] == ['0.01', '1.00'] and cols['numba'] == ['1', '100.00'], body   # a slow-down is not '0'


def test_add_ratios_replaces_what_an_earlier_call_filled_in_and_reads_a_peak():
    rows = [ms.LadderRow.timed(name, (4, 4, 4), ms.Timing([t])) for name,t in (('loops', 1.0), ('torch', 1e-3))]
    ms.add_ratios(rows, peaks={'cpu': 1.0})
    assert rows[1].x_base == pytest.approx(1000) and rows[1].pct_peak is not None
    ms.add_ratios(rows, base='lopos', ref='torhc')             # misspelt: blank, not the earlier call's figures
    assert all(r.x_base is None and r.vs_ref is None and r.pct_peak is None for r in rows)
    ms.add_ratios(rows, peaks={'cpu': ms.Peak(1, 8, 2, 1.0)})   # a Peak, as cpu_peak() gives it: its 32 GFLOP/s
    assert rows[1].pct_peak == pytest.approx(100 * rows[1].gflops / 32)


def test_counts_given_as_bools_a_dtype_not_a_float_and_a_timing_given_as_seconds_are_named():
    with pytest.raises(ValueError, match='matmul_flops: m must be an int, at least 0, got True'): ms.matmul_flops(True, 3, 4)
    with pytest.raises(ValueError, match='cores must be an int'): ms.cpu_peak(cores=True)
    with pytest.raises(TypeError, match='timing.median or timing.min'): ms.fmt_time(ms.Timing([1e-3]))
    for dtype in (torch.int32, 'float32', np.float32, torch.float16, torch.bfloat16):   # torch.finfo failed on the first; 16-bit types counted twice the lanes
        with pytest.raises(ValueError, match='dtype must be torch.float32 or torch.float64'): ms.cpu_peak(dtype)


def test_counts_may_be_numpy_integers_but_not_bools():
    "A size read from a NumPy array (`np.int64`) counts as well as an int; `True` and `np.bool_` do not."
    assert ms.matmul_flops(np.int64(2), 3, np.int32(4)) == ms.matmul_flops(2, 3, 4) == 48
    assert ms.matmul_flops(*[np.int32(4096)] * 3) == 2 * 4096**3        # as ints: 32-bit products would wrap around to 0
    t = ms.Timing([1.0], np.int64(3))
    assert t.number == 3 and type(t.number) is int
    with ms.torch_threads(np.int64(1)): assert torch.get_num_threads() == 1
    for bad in (True, np.bool_(True), np.float64(2.0)):
        with pytest.raises(ValueError, match='m must be an int, at least 0'): ms.matmul_flops(bad, 3, 4)


def test_numpy_sizes_and_seconds_are_taken_and_stored_as_python_numbers():
    rows = ms.measure_ladder({'torch': lambda a, b: a @ b}, [(np.int64(2), np.int32(3), 4)], repeats=1, min_time=np.float64(0))
    assert [(r.m, r.k, r.n) for r in rows] == [(2, 3, 4)] and all(type(d) is int for d in (rows[0].m, rows[0].k, rows[0].n))
    for bad in (True, '2', None):
        with pytest.raises(ValueError, match='max_call must be'): ms.measure_ladder({'torch': lambda a, b: a @ b}, [(2, 3, 4)], max_call=bad)
    with pytest.raises(ValueError, match='min_time must be'): ms.time_fn(lambda: None, min_time=True)


def test_seeded_draws_the_same_numbers_and_gives_the_callers_stream_back():
    torch.manual_seed(7); after = torch.rand(3)
    torch.manual_seed(7)
    with ms.seeded(np.uint64(3)): first = torch.rand(3)
    assert torch.equal(torch.rand(3), after)
    with ms.seeded(3): assert torch.equal(torch.rand(3), first)
    with ms.seeded(4): assert not torch.equal(torch.rand(3), first)
    torch.manual_seed(7)
    with pytest.raises(RuntimeError):
        with ms.seeded(3): torch.rand(5); raise RuntimeError('inside')
    assert torch.equal(torch.rand(3), after)                              # given back after an error too
    for bad in (-1, 2**64, 1.5, True, None):
        with pytest.raises(ValueError, match='seed must be an int from 0 to 2\\*\\*64 - 1'): ms.seeded(bad).__enter__()


def test_practical_peak_names_a_bad_size_before_timing_anything():
    for bad in ((2.5,), (16, 0), (True,)):
        with pytest.raises(ValueError, match='practical_peak: each size must be an int, at least 1'): ms.practical_peak(sizes=bad)


def test_time_fn_times_per_call_after_its_warm_up(monkeypatch):
    "A clock that moves 1 ms per call: runs of 5 calls (the first to last 5 ms), 1 ms per call, and each call counted."
    clock, calls = [0.0], []
    def f(): calls.append(1); clock[0] += 1e-3
    monkeypatch.setattr(ms.time, 'perf_counter', lambda: clock[0])
    t = ms.time_fn(f, repeats=3, min_time=0.005, warmup=2)
    assert t.number == 5 and t.times == pytest.approx([1e-3] * 3)
    assert len(calls) == 2 + (1 + 2 + 5) + 2 * 5           # warm-up, choosing the calls per run (the last is run 1), runs 2 and 3


def test_practical_peak_is_the_best_size(monkeypatch):
    monkeypatch.setattr(ms, 'time_fn', lambda f, a, b, **kw: ms.Timing([1e-3 if len(a) == 16 else 1.0]))
    assert ms.practical_peak((16, 32), repeats=1) == (pytest.approx(ms.gflops(16, 16, 16, 1e-3)), 16)
    assert ms.practical_peak((32, 16), repeats=1)[1] == 16
    assert ms.practical_peak(16, repeats=1)[1] == 16          # one size, not in a tuple


def test_the_measured_clock_is_fmas_per_second_over_two(monkeypatch):
    "12 chains of n FMAs in 4 ms at 2 a cycle: 3 GHz. (A factor 2 wrong would still look like a clock on most CPUs.)"
    if platform.machine().lower() not in ('x86_64', 'amd64') or ms.measured_ghz() is None: pytest.skip('no scalar FMAs measured here')
    monkeypatch.setattr(ms, 'time_fn', lambda f, *a, **kw: ms.Timing([12 * 2_000_000 / 2 / 3e9]))
    assert ms.measured_ghz.__wrapped__() == pytest.approx(3.0)


def test_the_first_probe_scales_by_the_columns_too():
    "One row of a product 4,096 columns wide: a probe of 256 columns must be scaled by 16, or the slow call runs."
    calls = []
    def slow(a, b): calls.append(a.shape[0] * b.shape[1]); time.sleep(1e-4 * a.shape[0] * b.shape[1]); return a @ b
    rows = ms.measure_ladder({'slow': slow}, [(1, 1, 4096)], repeats=1, min_time=0.0, max_call=0.2)
    assert not rows[0].measured and max(calls) < 4096


def test_a_guess_near_the_limit_is_measured_not_trusted():
    "A rung whose calls take 5 ms whatever the size: scaling by FLOPs guesses 80 ms for the second size, over the 50 ms limit."
    def flat(a, b): time.sleep(0.005); return a @ b
    rows = ms.measure_ladder({'flat': flat}, [(2, 1, 1), (2, 16, 1)], repeats=1, min_time=0.0, max_call=0.05)
    assert [r.measured for r in rows] == [True, True]


def test_seeded_queues_no_seed_for_a_gpu_not_in_use(monkeypatch):
    "torch.manual_seed would queue the seed for a GPU started later, even after the block: seeded leaves the GPUs alone."
    queued = []
    monkeypatch.setattr(torch.cuda, 'manual_seed_all', lambda seed: queued.append(seed))
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: False)
    with ms.seeded(3): torch.rand(1)
    assert queued == []
