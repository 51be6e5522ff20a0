"Tests for exp.bench: the options, the sections, the files written and the command line (tiny configurations, no timing assertions)."
import csv, json, subprocess, sys, time
from pathlib import Path
from types import SimpleNamespace

import numba, os, pytest, torch

import exp.bench as bench
from exp import nb_01c
from exp.nb_03 import TrainResult


@pytest.fixture(autouse=True)
def _no_ceilings(monkeypatch):
    "The FMA ceiling and rung 12's micro-kernel alone spin every core for a third of a second each: measured once per run, they would be measured in ~30 tests here, beside other tests' timings. Their own tests are in test_nb01b; their place in the run, below."
    monkeypatch.setattr(bench, 'fma_ceiling', lambda dtype=torch.float32: 1.0)
    monkeypatch.setattr(bench, 'tile_ceiling', lambda dtype=torch.float32: 1.0)

TINY = ['--only', 'matmul', '--sizes', '3x5x4,9x7x6', '--rungs', 'loops,torch,fastmath,micro',
        '--peak-sizes', '32', '--repeats', '2', '--min-time', '0.001']


def test_parse_defaults_and_quick():
    full,quick = bench.parse_args([]),bench.parse_args(['--quick'])
    assert full.sizes == [(5, 784, 10), (50_000, 784, 10), (1024, 1024, 1024)] and full.only == ['matmul', 'backward', 'autograd', 'train']
    assert quick.repeats < full.repeats and quick.max_call < full.max_call and 'train' not in quick.only
    explicit = bench.parse_args(['--quick', '--repeats', '9', '--sizes', '2x3x4'])
    assert explicit.repeats == 9 and explicit.sizes == [(2, 3, 4)], "options given explicitly beat --quick's defaults"
    assert bench.parse_args(['--out', 'x']).out == Path('x')


@pytest.mark.parametrize('argv', [['--only', 'matmul,nope'], ['--rungs', 'loops,warp'], ['--sizes', '5x784'],
                                  ['--sizes', '5x-1x3'], ['--repeats', '0']])
def test_bad_options_exit_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as e: bench.parse_args(argv)
    err = capsys.readouterr().err.splitlines()[-1]                  # the error, after argparse's usage lines
    assert e.value.code == 2 and 'error' in err and argv[1].split(',')[-1] in err, err


@pytest.mark.parametrize('argv, says', [
    (['--sizes', '5x784x10,9x9x9,5x784x10'], 'argument --sizes: lists 5x784x10 more than once'),      # ratios were read against the other copy
    (['--sizes', '1000000x1000000x2'], 'its three float32 matrices need'),                  # a traceback from the allocator, after the peak's run
    (['--peak-sizes', '2000000'], '--peak-sizes 2000000x2000000x2000000: its three float32 matrices need'),
])
def test_sizes_that_cannot_be_timed_are_refused_up_front(argv, says, capsys):
    with pytest.raises(SystemExit): bench.parse_args(argv)
    assert says in capsys.readouterr().err


def test_a_target_that_was_not_measured_says_so(tmp_path, capsys):
    "With one size there is no 'large' figure: the report used to leave the target out without a word."
    res = bench.main([*TINY[:2], '--sizes', '3x5x4', *TINY[4:], '--out', str(tmp_path)])
    assert 'large' not in res['matmul']['targets']
    assert 'large: not measured: it needs a compiled rung at a second, larger size' in capsys.readouterr().out


def test_the_targets_take_their_ratios_from_the_rungs_timed_again_side_by_side():
    "The ratios came from medians the ladder took one after another: six runs here gave 'small' from 0.80 to 1.01."
    from exp.measure import LadderRow, Timing, add_ratios
    rows = [LadderRow.timed(name, (5, 784, 10), Timing([t])) for name,t in (('loops', 0.25), ('torch', 5e-6), ('micro', 4e-6))]
    rows += [LadderRow.timed(name, (64, 64, 64), Timing([t])) for name,t in (('torch', 1e-4), ('micro', 2e-4))]
    add_ratios(rows)
    asked = []
    def again(size, fast, slow): asked.append((size, fast, slow)); return 0.5
    from_rows,timed = bench.matmul_targets(rows),bench.matmul_targets(rows, again=again)
    assert from_rows['small'].value == pytest.approx(1.25) and from_rows['large'].value == pytest.approx(0.5)
    assert asked == [((5, 784, 10), 'micro', 'torch'), ((5, 784, 10), 'micro', 'loops'), ((64, 64, 64), 'micro', 'torch')]
    assert {k: t.value for k,t in timed.items()} == {'small': 0.5, 'loops': 0.5, 'large': 0.5}
    no_loops = add_ratios([LadderRow.timed(name, (5, 784, 10), Timing([t])) for name,t in (('torch', 5e-6), ('micro', 4e-6))])
    asked.clear()
    assert bench.matmul_targets(no_loops, again=again)['loops'].value is None          # no loops row: nothing to time it against
    assert asked == [((5, 784, 10), 'micro', 'torch')]


def test_side_by_side_ratio_times_two_rungs():
    ratio = bench.side_by_side_ratio({'fast': lambda a, b: a @ b, 'slow': lambda a, b: [a @ b for _ in range(20)]}, torch.float32,
                                     repeats=3, min_time=0.001)
    assert ratio((8, 16, 8), 'fast', 'slow') > 2                                        # twenty products against one


def test_results_say_when_and_from_what_the_run_was_made(tmp_path):
    "results.json had no date, commit, load average or target definitions: a reader could not tell a busy run from a quiet one."
    bench.main([*TINY[:2], '--sizes', '3x5x4', *TINY[4:], '--out', str(tmp_path)])
    res = json.loads((tmp_path/'results.json').read_text())
    run = res['run']
    assert run['started'].endswith('Z') and len(run['load_at_start']) == len(run['load_at_end']) == 3
    assert run['commit'] is None or len(run['commit']) == 40
    assert res['targets']['small'] == {'what': bench.TARGETS['small'].what, 'op': '>', 'threshold': 1.0, 'fmt': '.2f', 'size': '5x784x10'}


def test_not_measured_is_null_not_false_in_the_results():
    from exp.measure import LadderRow, TargetFigure
    row = SimpleNamespace(size=(5, 784, 10), rung='micro')
    assert TargetFigure.from_row('small', row, None).met is None and TargetFigure.from_row('small', row, 2.0).met is True


def test_a_target_measured_at_another_size_is_not_judged():
    "'large' read at 64^3, or triton_fp32 at --quick's 1024^3, printed 'met' and wrote met: true."
    from exp.measure import TargetFigure
    off = TargetFigure.from_row('large', SimpleNamespace(size=(64, 64, 64), rung='outer'), 0.71)
    assert off.met is None and off.value == 0.71
    assert str(off).endswith("(target >= 0.60 at 1024x1024x1024: not judged at this size)") and 'met' not in str(off)
    assert TargetFigure.from_row('large', SimpleNamespace(size=(1024,) * 3, rung='outer'), 0.5).met is False


def test_threads_counts_cores_in_the_peak(tmp_path):
    before = torch.get_num_threads(),numba.get_num_threads()
    res = bench.main(['--threads', '1', *TINY, '--rungs', 'torch', '--out', str(tmp_path)])
    assert res['machine']['cores'] == 1 and res['machine']['theoretical_peak'].startswith('1 core x')
    assert (torch.get_num_threads(), numba.get_num_threads()) == before   # a run inside a program gives its threads back
    with pytest.raises(SystemExit): bench.parse_args(['--threads', '0'])


def test_the_ceilings_are_measured_on_the_runs_threads(tmp_path, monkeypatch, capsys):
    "Each measured once, inside the run's thread count and in its dtype, recorded and printed beside the theoretical peak."
    seen = []
    monkeypatch.setattr(bench, 'fma_ceiling', lambda dtype: seen.append(('fma', numba.get_num_threads(), dtype)) or 123.0)
    monkeypatch.setattr(bench, 'tile_ceiling', lambda dtype: seen.append(('tile', numba.get_num_threads(), dtype)) or 45.0)
    res = bench.main(['--threads', '1', *TINY, '--rungs', 'torch', '--dtype', 'float64', '--out', str(tmp_path)])
    assert seen == [('fma', 1, torch.float64), ('tile', 1, torch.float64)]
    assert res['machine']['fma_ceiling_gflops'] == 123.0 and res['machine']['tile_ceiling_gflops'] == 45.0
    out = capsys.readouterr().out
    assert 'FMA ceiling (measured, 1 thread(s) at once, ' in out and 'vectors of float64): 123 GFLOP/s' in out
    assert f"rung 12's micro-kernel alone (tiles of {bench.TILE_ROWS} rows, data in L1, the same threads): 45 GFLOP/s" in out
    m = res['machine']                                            # which tile ran, for results from other machines
    assert m['tile_rows'] == bench.TILE_ROWS and m['tile_rows'] == (12 if m['vector_registers'] == 32 else 6)


def test_rung_12s_block_is_tuned_before_it_is_timed_where_the_block_matters(tmp_path, monkeypatch, capsys):
    "Only with rung 12 among the rungs and a product of 1024^3 or more: the blocks' speeds are printed, the fastest named, all written."
    import exp.nb_01b as nb01b
    calls = []
    def tune(repeats, dtype):                   # as tune_outer: times, then sets the module's block to the fastest
        calls.append((repeats, dtype))
        nb01b.OUTER_DEPTH,nb01b.OUTER_WIDTH = 384,1024
        return {(768, 2048): 100.0, (384, 1024): 300.0}
    monkeypatch.setattr(bench, 'tune_outer', tune)
    before = nb01b.OUTER_DEPTH,nb01b.OUTER_WIDTH
    quick = ['--only', 'matmul', '--peak-sizes', '32', '--repeats', '2', '--min-time', '0.001']
    small = bench.main([*quick, '--sizes', '3x5x4,9x7x6', '--rungs', 'outer', '--out', str(tmp_path/'small')])
    assert "rung 12's block of b (depth x width): {}x{}, not tuned in this run (make bench tunes it when --sizes has a product of 1024^3 or more)".format(*before) in capsys.readouterr().out
    no_outer = bench.main([*quick, '--sizes', '1024x1024x1024', '--rungs', 'torch', '--out', str(tmp_path/'no-outer')])
    assert calls == [] and "rung 12's block" not in capsys.readouterr().out
    assert small['matmul']['outer_blocks'] is None and no_outer['matmul']['outer_blocks'] is None
    res = bench.main([*quick, '--sizes', '3x5x4,1024x1024x1024', '--rungs', 'outer', '--dtype', 'float64', '--out', str(tmp_path/'tuned')])
    out = capsys.readouterr().out
    assert calls == [(2, torch.float64)] and "timed at 2048^3 float64: 768x2048 100, 384x1024 300 GFLOP/s; kept 384x1024" in out
    assert "rung 12's block of b (depth x width): 384x1024, the fastest of 2 timed at 2048^3" in out      # in the report too
    assert res['matmul']['outer_blocks'] == {'768x2048': 100.0, '384x1024': 300.0} and res['matmul']['outer_block'] == '384x1024'
    assert json.loads((tmp_path/'tuned'/'results.json').read_text())['matmul']['outer_blocks'] == {'768x2048': 100.0, '384x1024': 300.0}
    assert (nb01b.OUTER_DEPTH, nb01b.OUTER_WIDTH) == before      # the run gave the block back, as it gives back the threads


def test_more_threads_than_numba_can_run_are_refused_by_name(capsys):
    most = numba.config.NUMBA_NUM_THREADS
    assert bench.parse_args(['--threads', str(most)]).threads == most
    with pytest.raises(SystemExit) as e: bench.parse_args(['--threads', str(most + 1)])
    assert e.value.code == 2 and f'at most {most} threads' in capsys.readouterr().err


def test_wide_vectors_exits_as_its_new_process_did(tmp_path, monkeypatch, capfd):
    "With --wide-vectors the benchmark runs again in a new process; its failure ends this one with its exit status, not a second traceback."
    monkeypatch.setattr(bench, 'wide_vector_env', lambda: dict(os.environ))
    (blocker := tmp_path/'a-file').write_text('')
    with pytest.raises(SystemExit) as e: bench.main(['--wide-vectors', '--only', 'backward', '--out', str(blocker/'out')])
    err = capfd.readouterr().err
    assert e.value.code == 1 and err.count('cannot write') == 1 and 'Traceback' not in err, err   # the new process said why, once


def test_parse_size():
    assert bench.parse_size('5x784x10') == (5, 784, 10) and bench.parse_size('1X2X3') == (1, 2, 3)


def test_main_writes_files_and_prints_table(tmp_path, capsys):
    res = bench.main(TINY + ['--out', str(tmp_path)])
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ['matmul.csv', 'matmul.png', 'results.json']
    assert '[  8/8]' in out and 'GFLOP/s' in out and 'targets (the CPU ratios timed again' in out and 'wrote' in out   # progress, table, targets
    data = json.loads((tmp_path/'results.json').read_text())
    assert data['machine']['cores'] >= 1 and data['options']['sizes'] == [[3, 5, 4], [9, 7, 6]]
    assert {r['rung'] for r in data['matmul']['rows']} >= {'loops', 'torch', 'fastmath', 'micro'}
    assert list(data['matmul']['targets']) == ['small', 'loops', 'large'] and data['matmul']['targets']['small']['size'] == '3x5x4'
    assert 'small: rung ' in out and 'measured at 3x5x4, not 5x784x10' in out
    assert 'x loops: how many times faster' in out and '% peak: % of the theoretical peak' in out     # the legend
    with open(tmp_path/'matmul.csv') as f: rows = list(csv.DictReader(f))
    assert len(rows) == len(res['matmul']['rows']) and float(rows[0]['median']) > 0
    assert list(rows[0]) == bench.LADDER_FIELDS and rows[0]['device'] == 'cpu'
    assert (tmp_path/'matmul.png').read_bytes()[:4] == b'\x89PNG'


def test_backward_section(tmp_path, capsys):
    res = bench.main(['--only', 'backward', '--rows', '256', '--repeats', '1', '--out', str(tmp_path)])
    bw = res['backward']
    assert bw['rows'] == 256 and bw['hand_vs_autograd'] > 0 and bw['met'] is bench.TARGETS['backward'].met(bw['hand_vs_autograd'])
    assert set(bw['timings']) == {'hand-written', 'autograd', 'autograd, no input grad'}
    assert 'backward, on 256 images (fastest runs):' in capsys.readouterr().out
    assert bw['hand_vs_autograd'] == bw['timings']['hand-written']['min'] / bw['timings']['autograd']['min']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['results.json']


def test_autograd_section(tmp_path, capsys):
    "Notebook 02b's engine against autograd: both timed, the ratio of the fastest runs reported against its target."
    res = bench.main(['--only', 'autograd', '--rows', '256', '--repeats', '2', '--out', str(tmp_path)])
    ag = res['autograd']
    assert ag['rows'] == 256 and set(ag['timings']) == {'engine', 'autograd'} and ag['engine_vs_autograd'] > 0
    assert ag['engine_vs_autograd'] == ag['timings']['engine']['min'] / ag['timings']['autograd']['min']
    assert ag['met'] is bench.TARGETS['autograd'].met(ag['engine_vs_autograd'])
    out = capsys.readouterr().out
    assert "autograd, on 256 images (fastest runs): notebook 02b's engine" in out and '(target <= 1.50: ' in out
    assert set(res['skipped']) == {'matmul', 'backward', 'train'}


def test_train_section_reads_train_mnist(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, 'train_mnist', lambda device: TrainResult(0.975, None, {}, 5.0))
    res = bench.main(['--only', 'train', '--out', str(tmp_path)])
    assert res['train']['accuracy'] == 0.975 and res['train']['seconds'] == 5.0 and res['train']['met'] is True
    monkeypatch.setattr(bench, 'train_mnist', lambda device: TrainResult(0.96, None, {}, 5.0))
    assert bench.main(['--only', 'train', '--out', str(tmp_path)])['train']['met'] is False
    out = capsys.readouterr().out
    assert '97.50% (target >= 97.00%: met)' in out and '96.00% (target >= 97.00%: NOT met)' in out and 'train, CPU' in out


def test_skipped_sections_are_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, 'train_mnist', lambda device: pytest.fail("train is not in this run"))
    res = bench.main(['--quick', *TINY, '--out', str(tmp_path)])
    out = capsys.readouterr().out
    assert res['skipped'] == {'backward': 'not in --only matmul', 'autograd': 'not in --only matmul', 'train': 'not in --only matmul'}
    assert 'train: skipped, not in --only matmul' in out
    res = bench.main(['--quick', '--only', 'backward', '--rows', '64', '--repeats', '1', '--out', str(tmp_path)])
    assert set(res['skipped']) == {'matmul', 'autograd', 'train'}
    assert bench._why_skipped('train', bench.parse_args(['--quick'])).startswith('--quick leaves it out')


def test_command_line(tmp_path):
    "`python -m exp.bench` runs `main` (the notebook guard does not stop it outside IPython)."
    res = subprocess.run([sys.executable, '-m', 'exp.bench', *TINY, '--out', str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert res.returncode == 0, res.stderr
    assert 'targets (the CPU ratios timed again' in res.stdout and (tmp_path/'results.json').exists()
    help_ = subprocess.run([sys.executable, '-m', 'exp.bench', '--help'], capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0 and '--quick' in help_.stdout and '--only' in help_.stdout


def test_wide_vectors(tmp_path):
    res = bench.main(['--wide-vectors', *TINY, '--rungs', 'torch,micro', '--out', str(tmp_path)])
    if bench.wide_vector_env() is None: assert res['machine']['numba_cpu_features'] is None
    else: assert res['machine']['numba_cpu_features'].endswith('-prefer-256-bit') and res['machine']['numba_vector_bits'] == 512   # it took
    assert (tmp_path/'matmul.csv').exists()


def test_not_run_on_import():
    "Importing exp.bench (as notebook 99 and the tests do) runs no benchmark; only `python -m exp.bench` does."
    r = subprocess.run([sys.executable, '-c', 'import exp.bench'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == '', r.stdout + r.stderr


def test_in_notebook_asks_ipython_for_a_running_shell(monkeypatch):
    "(Asked of this process it depends on the tests run before: execnb's shell, made by the exercise tests, is one.)"
    monkeypatch.delitem(sys.modules, 'IPython', raising=False)
    assert not bench._in_notebook()                                        # IPython not even imported
    monkeypatch.setitem(sys.modules, 'IPython', SimpleNamespace(get_ipython=lambda: None))
    assert not bench._in_notebook()                                        # imported, no shell running
    monkeypatch.setitem(sys.modules, 'IPython', SimpleNamespace(get_ipython=lambda: object()))
    assert bench._in_notebook()


@pytest.mark.parametrize('argv', [['--min-time', 'nan'], ['--min-time', 'inf'], ['--min-time', '-1'], ['--max-call', '-1'],
                                  ['--max-call', 'nan'], ['--max-call', '0'], ['--rows', '-49990'], ['--rows', '0'],
                                  ['--rows', '60000'], ['--rungs', ''], ['--sizes', ''], ['--only', ''], ['--peak-sizes', '0'],
                                  ['--threads', '0'], ['--repeats', '1.5'], ['--sizes', '5x0x10'],
                                  ['--min-time', '1e12'], ['--repeats', '5000']])   # these two were accepted, then ran for days
def test_options_that_would_run_wrong_or_forever_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as e: bench.parse_args(argv)
    assert e.value.code == 2 and f'argument {argv[0]}:' in capsys.readouterr().err   # the error names the option, not only the usage line


def test_threads_of_a_run_that_only_trains_are_refused(capsys):
    "Training always runs on one thread (notebook 03): --threads 2 was accepted and results.json said 2 beside the training time."
    with pytest.raises(SystemExit): bench.parse_args(['--only', 'train', '--threads', '2'])
    assert '--threads' in capsys.readouterr().err
    assert bench.parse_args(['--only', 'train,backward', '--threads', '1']).threads == 1


def test_max_call_applies_at_the_first_size(tmp_path):
    res = bench.main(['--only', 'matmul', '--sizes', '256x256x256', '--rungs', 'loops', '--max-call', '0.5', '--peak-sizes', '32',
                      '--repeats', '1', '--out', str(tmp_path)])
    row, = res['matmul']['rows']
    assert not row.measured and 'per call' in row.skipped


def test_out_that_cannot_be_written_is_refused_before_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, 'run_backward', lambda args: pytest.fail("the run started"))
    (tmp_path/'file').write_text('x')
    for out in (tmp_path/'file', tmp_path/'file'/'sub'):
        with pytest.raises(SystemExit, match='--out'): bench.main(['--only', 'backward', '--out', str(out)])


def test_an_interrupted_run_leaves_the_earlier_one_as_it_was(tmp_path, monkeypatch):
    bench.main(TINY + ['--out', str(tmp_path)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    def interrupted(args): raise KeyboardInterrupt
    monkeypatch.setattr(bench, 'run_backward', interrupted)
    with pytest.raises(KeyboardInterrupt): bench.main(TINY[:1] + ['matmul,backward'] + TINY[2:] + ['--out', str(tmp_path)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before      # same files, same bytes, no staging folder left
    with pytest.raises(KeyboardInterrupt): bench.main(TINY[:1] + ['matmul,backward'] + TINY[2:] + ['--out', str(tmp_path/'new'/'out')])
    assert not (tmp_path/'new').exists()                                         # no empty folder left where there was none


@pytest.mark.parametrize('then', ['goes on', 'fails'])
def test_a_stop_whose_exception_numba_dropped_still_stops_the_run(tmp_path, monkeypatch, capsys, then):
    "A Ctrl-C while numba compiles raises inside a callback that drops the exception: the run went on (or the section 'failed') and wrote its files."
    import signal
    bench.main(TINY + ['--out', str(tmp_path)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    def stopped_in_a_callback(args):
        try: bench._stop_on(signal.SIGINT, None)
        except KeyboardInterrupt: pass                       # what the callback does with it
        if then == 'fails': raise RuntimeError("no compiled object yet for <Library '_outer_task'>")
        return real(args)
    real = bench.run_backward
    monkeypatch.setattr(bench, 'run_backward', stopped_in_a_callback)
    capsys.readouterr()
    with pytest.raises(KeyboardInterrupt): bench.main(TINY[:1] + ['matmul,backward'] + TINY[2:] + ['--out', str(tmp_path)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before      # nothing written
    assert '[backward] failed' not in capsys.readouterr().out                   # a stop, not a failure
    monkeypatch.setattr(bench, 'run_backward', real)
    bench.main(['--only', 'backward', '--rows', '64', '--repeats', '1', '--out', str(tmp_path/'next')])   # the next run starts afresh


def test_a_lost_stop_ends_the_run_at_the_next_row():
    "A stop lost in the ladder's first rung ends the ladder at its next progress line, not when the section is over."
    import signal
    row = bench.LadderRow.timed('torch', (4, 4, 4), bench.Timing([1e-6]))
    bench._STOPS.clear()
    bench._progress(1, 2, row)                                   # no stop: a line
    bench._STOPS.append(signal.SIGTERM)
    try:
        with pytest.raises(bench._Terminated): bench._progress(2, 2, row)
    finally: bench._STOPS.clear()


def test_a_failing_section_costs_not_the_others(tmp_path, monkeypatch, capsys):
    "An error in one section: the others still run and are written, the report and results.json name the failure, the exit status is 1."
    def broken(args): raise ValueError('a broken section')
    monkeypatch.setattr(bench, 'run_backward', broken)
    with pytest.raises(SystemExit, match=r"backward failed \(see above\); what the other sections measured is written") as e:
        bench.main(TINY[:1] + ['matmul,backward'] + TINY[2:] + ['--out', str(tmp_path)])
    assert e.value.code != 0
    res = json.loads((tmp_path/'results.json').read_text())
    assert res['failed'] == {'backward': 'ValueError: a broken section'} and res['matmul']['rows'] and 'backward' not in res
    out = capsys.readouterr()
    assert 'backward: FAILED, ValueError: a broken section' in out.out and 'a broken section' in out.err   # the traceback


def test_a_run_in_which_every_section_fails_keeps_the_earlier_files(tmp_path, monkeypatch):
    bench.main(TINY + ['--out', str(tmp_path)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    def broken(args): raise ValueError('a broken section')
    monkeypatch.setattr(bench, 'run_backward', broken)
    with pytest.raises(SystemExit, match=r"backward failed \(see above\): nothing written"):
        bench.main(['--only', 'backward', '--rows', '64', '--repeats', '1', '--out', str(tmp_path)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_stopped_run_removes_only_the_folders_it_made(tmp_path, monkeypatch):
    "An --out written with '..' names an existing folder: a stopped run leaves it, even empty, and removes what it made."
    (tmp_path/'out').mkdir()
    monkeypatch.chdir(tmp_path)
    def interrupted(args): raise KeyboardInterrupt
    monkeypatch.setattr(bench, 'run_backward', interrupted)
    with pytest.raises(KeyboardInterrupt): bench.main(['--only', 'backward', '--out', 'new/../out'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out'] and list((tmp_path/'out').iterdir()) == []
    monkeypatch.undo(); monkeypatch.chdir(tmp_path)
    bench.main(['--only', 'backward', '--rows', '64', '--repeats', '1', '--out', 'new/../out'])       # a run that ends writes there
    assert (tmp_path/'out'/'results.json').exists()


def test_a_stop_while_publishing_waits_until_the_new_files_are_all_in_place(tmp_path, monkeypatch):
    "Ctrl-C between two renames left the new matmul.csv alone, the earlier run's files gone, and said 'nothing written'."
    import signal
    out, staging = tmp_path/'out', tmp_path/'out'/'.run-x'
    staging.mkdir(parents=True)
    for name in bench.RESULT_FILES: (out/name).write_text('earlier'); (staging/name).write_text('new')
    real, moved = os.replace, []
    def replace_then_stop(src, dst):
        real(src, dst); moved.append(Path(dst).name)
        if len(moved) == 1: os.kill(os.getpid(), signal.SIGINT)        # Ctrl-C after the first file
    monkeypatch.setattr(bench.os, 'replace', replace_then_stop)
    with pytest.raises(bench._StoppedAfterWriting) as stop: bench._publish(staging, out)    # so the run says the files are written
    assert stop.value.args == (signal.SIGINT, []) and isinstance(stop.value, KeyboardInterrupt)   # the signal; no earlier file left unreplaced
    assert moved == list(bench.RESULT_FILES) and {(out/n).read_text() for n in bench.RESULT_FILES} == {'new'}


def test_a_stop_says_whether_the_files_were_written():
    "After a stop held while publishing, the line said 'nothing written' with every file in place."
    import signal
    line, status = bench._stopped(bench._StoppedAfterWriting(signal.SIGINT, ['matmul.png']), 'out')
    assert line.endswith(f"interrupted: its files were all written first, into {Path('out').resolve()} (the earlier run's matmul.png removed)")
    assert status == 130
    assert bench._stopped(bench._StoppedAfterWriting(signal.SIGTERM, []), 'out') == (f"\nbenchmark terminated: its files were all written first, into {Path('out').resolve()}", 143)
    assert bench._stopped(KeyboardInterrupt(), 'out') == ("\nbenchmark interrupted: nothing written", 130)
    assert bench._stopped(bench._Terminated(), 'out')[1] == 143


def test_triton_configs_is_refused_where_no_triton_rung_runs():
    with pytest.raises(SystemExit): bench.parse_args(['--only', 'matmul', '--rungs', 'torch', '--triton-configs', '2'])
    assert bench.parse_args(['--only', 'matmul', '--rungs', 'torch,triton tf32', '--triton-configs', '2']).triton_configs == 2


def test_the_report_names_the_peaks_clock_and_a_busy_start():
    "The theoretical peak read 166 GFLOP/s in one run and 234 in the next: a busy machine measured its clock below the OS's, and the OS's won."
    assert bench._clock_said(dict(os_ghz=2.6, measured_ghz=1.63)) == "clock 2.60 GHz from the OS or 1.63 GHz measured on one core, the faster"
    assert bench._clock_said(dict(os_ghz=None, measured_ghz=3.5)) == "clock 3.50 GHz measured on one core"
    assert bench._clock_said(dict(os_ghz=None, measured_ghz=None)) == "clock unknown"
    busy = dict(run=dict(load_at_start=(2.66, 1.0, 0.5)), machine=dict(logical_cpus=2, theoretical_peak='?'))
    assert 'the machine was busy as the run started (load 2.7 on 2 CPUs)' in bench._report(busy)
    assert 'busy' not in bench._report(dict(busy, run=dict(load_at_start=(0.4, 1.0, 0.5))))


def test_a_run_on_fewer_threads_names_the_cores_it_used_and_the_machines():
    res = lambda used, threads: dict(machine=dict(cores=used), options=dict(threads=threads))
    all_ = bench.cpu_cores()
    assert bench._cores_said(res(all_, 0)) == f"{all_} core{'s' if all_ > 1 else ''}"
    if all_ > 1: assert bench._cores_said(res(1, 1)) == f"1 of {all_} cores (--threads 1)"


def test_results_record_the_options_of_the_sections_that_ran(tmp_path):
    bench.main(['--only', 'backward', '--rows', '64', '--repeats', '1', '--out', str(tmp_path)])
    opts = json.loads((tmp_path/'results.json').read_text())['options']
    assert opts['rows'] == 64 and opts['only'] == ['backward'] and not {'sizes', 'peak_sizes', 'triton_configs', 'dtype'} & set(opts), opts


def test_the_report_names_each_gpu_target_that_did_not_run():
    "With a GPU seen, a target whose rungs failed or were left out vanished from the list, which could read as all met."
    mm = dict(rows=[], practical_peak_gflops=None, practical_peak_size=None, gpu='GPU rungs: triton failed its check',
              targets={}, gpu_seen=True)
    report = bench._report(dict(matmul=mm, machine=dict(theoretical_peak='?')))
    for k in bench.GPU_TARGETS: assert f"{k}: not measured: its rungs or cuBLAS's did not run on the GPU (GPU rungs: triton failed" in report
    assert 'triton_fp32' not in bench._report(dict(matmul=dict(mm, gpu_seen=False), machine=dict(theoretical_peak='?')))


def test_publishing_names_the_earlier_files_it_removes(tmp_path):
    "A run of one section deleted the earlier run's matmul.csv and matmul.png without a word."
    out,staging = tmp_path/'out',tmp_path/'out'/'.run-x'
    staging.mkdir(parents=True)
    for name in ('results.json', 'matmul.csv', 'matmul.png'): (out/name).write_text('earlier')
    (staging/'results.json').write_text('{}')
    assert bench._publish(staging, out) == ['matmul.csv', 'matmul.png']
    assert sorted(p.name for p in out.iterdir()) == ['results.json'] and (out/'results.json').read_text() == '{}'


def test_a_run_replaces_every_file_of_the_earlier_one(tmp_path, monkeypatch):
    bench.main(TINY + ['--out', str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['matmul.csv', 'matmul.png', 'results.json']
    monkeypatch.setattr(bench, 'train_mnist', lambda device: TrainResult(0.98, None, {}, 1.0))
    bench.main(['--only', 'train', '--out', str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['results.json']    # no matmul files left from the earlier run
    assert 'train' in json.loads((tmp_path/'results.json').read_text())


class FakeGPURung:
    """A stand-in for a GPU rung on this CPU, recorded as running on 'cuda' (in `precision`): `torch @`, then a sleep of
    `slower` tenths of a millisecond. A sleep is never shorter than asked, so on a busy machine too a rung `slower=300`
    stays far behind one `slower=2` (repeating `a @ b` instead made a busy CI pick the wrong one; so did 50 against 2, 5
    against 0.2 ms, once, when a loaded machine woke the short sleeps over 5 ms late)."""
    device = 'cuda'
    def __init__(self, slower=1, precision='float32'): self.slower,self.precision = slower,precision
    def __call__(self, a, b):
        time.sleep(self.slower * 1e-4)
        return a @ b


def test_gpu_sizes_that_do_not_fit_the_gpu_are_refused_up_front(monkeypatch, capsys):
    "Where there is a GPU, a --gpu-sizes product whose three float32 matrices take over half its memory is refused by name (CI has no GPU: a stand-in)."
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'get_device_properties', lambda i: SimpleNamespace(total_memory=2**30))   # a 1 GiB GPU
    assert bench.parse_args(['--gpu-sizes', '4096x4096x4096']).gpu_sizes == [(4096,) * 3]                      # 192 MiB: fits
    with pytest.raises(SystemExit): bench.parse_args(['--gpu-sizes', '8192x8192x8192'])                        # 768 MiB: over half
    assert "--gpu-sizes 8192x8192x8192: its three float32 matrices need 0.8 GiB, more than half of the GPU's 1.0 GiB" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)                                             # no GPU: not timed ...
    assert bench.parse_args(['--gpu-sizes', '8192x8192x8192']).gpu_sizes == [(8192,) * 3]
    with pytest.raises(SystemExit): bench.parse_args(['--gpu-sizes', '99999x99999x99999'])                     # ... but held to this machine's memory,
    assert "--gpu-sizes 99999x99999x99999: its three float32 matrices need" in capsys.readouterr().err         # so a typo shows before the GPU run


def test_gpu_rungs_are_timed_at_gpu_sizes_and_read_as_targets(monkeypatch, tmp_path, capsys):
    "The GPU path of the matmul section, which CI cannot run on a GPU: stand-in rungs, Triton's tuning recorded."
    fakes = {'torch cuda': FakeGPURung(), 'torch cuda tf32': FakeGPURung(precision='tf32'), 'cuda naive': FakeGPURung(300),
             'cuda regs': FakeGPURung(2), 'triton': FakeGPURung(), 'triton tf32': FakeGPURung(precision='tf32')}
    monkeypatch.setattr(bench, 'gpu_rungs', lambda: (fakes, 'GPU: a stand-in'))
    tuned = []
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *size, configs=None: tuned.append(size))   # gpu_ladder tunes
    monkeypatch.setattr(nb_01c, '_TUNED', {})                                        # nothing tuned yet, whatever ran before
    tiny = [*TINY[:4], '--rungs', 'loops,torch,micro,' + ','.join(fakes), *TINY[6:]]
    res = bench.main([*tiny, '--gpu-sizes', '16x16x16,64x64x64', '--out', str(tmp_path)])
    gpu = [r for r in res['matmul']['rows'] if r.device == 'cuda']
    assert [(r.rung, r.size) for r in gpu] == [(k, s) for s in [(16,) * 3, (64,) * 3] for k in fakes]
    assert {r.dtype for r in gpu if r.rung.endswith('tf32')} == {'tf32'}
    assert sorted(tuned) == sorted([(16, 16, 16, False), (16, 16, 16, True), (64, 64, 64, False), (64, 64, 64, True)])
    t = res['matmul']['targets']
    assert {'triton_fp32', 'triton_tf32', 'numba_cuda'} <= set(t) and t['numba_cuda'].rung == 'cuda regs'
    assert {t[k].size for k in ('triton_fp32', 'triton_tf32', 'numba_cuda')} == {'64x64x64'}
    out = capsys.readouterr().out
    assert 'on the GPU:' in out and 'x cuda naive' in out and 'vs torch cuda' in out
    assert "x cuda naive: how many times faster than the rung 'cuda naive'" in out   # the GPU table's own columns explained
    assert 'GPU: a stand-in' in out and "triton_fp32: rung 'triton' (measured at 64x64x64, not 4096x4096x4096)" in out
    assert {t[k].met for k in ('triton_fp32', 'triton_tf32', 'numba_cuda')} == {None}   # not at their size: not judged
    rows = list(csv.DictReader(open(tmp_path/'matmul.csv')))
    assert sum(r['device'] == 'cuda' for r in rows) == len(gpu)
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *size: pytest.fail('no tuning without a Triton rung'))
    res = bench.main([*TINY, '--gpu-sizes', '16x16x16', '--out', str(tmp_path)])   # --rungs without GPU rungs: none compiled
    assert res['matmul']['gpu'] == 'GPU rungs: none in --rungs' and not any(r.device == 'cuda' for r in res['matmul']['rows'])
    res = bench.main([*TINY[:4], '--rungs', 'torch,torch cuda,cuda naive', *TINY[6:], '--gpu-sizes', '16x16x16', '--out', str(tmp_path)])
    assert [r.rung for r in res['matmul']['rows'] if r.device == 'cuda'] == ['torch cuda', 'cuda naive']
    res = bench.main([*tiny, '--dtype', 'float64', '--out', str(tmp_path)])
    assert not any(r.device == 'cuda' for r in res['matmul']['rows']) and 'they multiply float32, not float64' in res['matmul']['gpu']


def test_quick_tunes_triton_over_a_few_configs(monkeypatch, tmp_path):
    "`--quick` on a GPU: Triton tuned over its first few configs; a full run over all of them; `--triton-configs` says how many."
    fakes = {'torch cuda': FakeGPURung(), 'triton': FakeGPURung()}
    monkeypatch.setattr(bench, 'gpu_rungs', lambda: (fakes, 'GPU: a stand-in'))
    seen = []
    monkeypatch.setattr(nb_01c, 'tune_triton', lambda *size, configs=None: seen.append(configs))
    for extra in (['--quick'], [], ['--triton-configs', '2']):
        monkeypatch.setattr(nb_01c, '_TUNED', {})
        bench.main([*extra, '--only', 'matmul', '--sizes', '3x5x4', '--rungs', 'torch,' + ','.join(fakes),
                    '--peak-sizes', '32', '--repeats', '1', '--min-time', '0.001', '--gpu-sizes', '16x16x16', '--out', str(tmp_path)])
    assert seen == [nb_01c.first_configs(bench.QUICK['triton_configs']), nb_01c.first_configs(len(nb_01c.TRITON_CONFIGS)), nb_01c.first_configs(2)]
    quick,full = seen[0],seen[1]
    fp32 = [dict(BM=bm, BN=bn, BK=bk, num_warps=w, num_stages=s) for bm,bn,bk,w,s in nb_01c._FOR_FP32]
    assert quick[0] == nb_01c.TRITON_CONFIGS[0] and quick[1] == fp32[0]     # each precision's first, in turn: FP32 gets its own
    assert sorted(map(str, full)) == sorted(map(str, nb_01c.TRITON_CONFIGS))   # a full run tunes over every config


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a GPU rung asked for where there is no GPU")
def test_rungs_that_run_nowhere_here_are_refused_by_name(tmp_path, capsys):
    "GPU rungs alone, without a GPU: refused before anything runs (the other sections used to run, then the whole run stopped)."
    for only in (['--only', 'matmul'], []):
        with pytest.raises(SystemExit): bench.main([*only, '--rungs', 'triton', '--out', str(tmp_path/'new')])
        assert "--rungs triton: GPU rungs only, and PyTorch sees no CUDA GPU here" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []                    # nothing made


def test_number_options_say_what_they_take(capsys):
    with pytest.raises(SystemExit): bench.parse_args(['--repeats', '2.5'])
    assert "argument --repeats: must be a whole number at least 1 and at most 1,000; got '2.5'" in capsys.readouterr().err
    with pytest.raises(SystemExit): bench.parse_args(['--min-time', 'soon'])
    assert "argument --min-time: must be a finite number" in capsys.readouterr().err


@pytest.mark.parametrize('argv,named', [(['--only', 'train', '--sizes', '5x5x5'], '--sizes is for the matmul section'),
                                        (['--only', 'matmul', '--rows', '64'], '--rows is for the backward and autograd sections'),
                                        (['--quick', '--dtype', 'float64', '--only', 'autograd'], '--dtype is for the matmul section')])
def test_an_option_of_a_section_that_does_not_run_is_refused(argv, named, capsys):
    "An option whose section is left out would be ignored; the error names the option, its section and --only."
    with pytest.raises(SystemExit) as e: bench.parse_args(argv)
    assert e.value.code == 2 and named in capsys.readouterr().err
    assert bench.parse_args(['--quick', '--rows', '64']).rows == 64                  # --quick's sections include backward
    assert bench.parse_args(['--only', 'matmul', '--repeats', '2']).dtype == 'float32'   # the default dtype is still filled in


def test_an_empty_out_is_refused_not_read_as_the_current_folder(capsys):
    with pytest.raises(SystemExit) as e: bench.parse_args(['--out', ''])
    assert e.value.code == 2 and 'argument --out: give a folder' in capsys.readouterr().err


def _stop_after_it_starts(cmd, cwd, sig):
    "Run the benchmark `cmd`, send `sig` once the matmul section has begun, and return the process and its stderr."
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        for line in p.stdout:                       # wait until the run has begun: past the imports
            if line.startswith('[matmul]'): break
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally: p.kill()
    return p, err


@pytest.mark.parametrize('sig,code,said', [('SIGINT', 130, 'interrupted'), ('SIGTERM', 143, 'terminated')])
@pytest.mark.parametrize('wide', [False, True])
def test_a_stopped_run_says_so_in_one_line_and_leaves_nothing_half_written(tmp_path, wide, sig, code, said):
    "Ctrl-C (SIGINT), or `kill` and `timeout` (SIGTERM), stop the benchmark through its clean-up: one line, not a traceback, "
    "exit 128 + the signal, and no hidden staging folder left in --out. With --wide-vectors the second process gets the signal too."
    import signal
    if wide and bench.wide_vector_env() is None: pytest.skip("--wide-vectors runs a second process only on AVX-512 CPUs")
    (out := tmp_path/'out').mkdir()
    cmd = [sys.executable, '-m', 'exp.bench', *(['--wide-vectors'] if wide else []), '--only', 'matmul', '--sizes', '200x200x200',
           '--rungs', 'loops', '--max-call', '60', '--repeats', '5', '--peak-sizes', '32', '--out', str(out)]
    p, err = _stop_after_it_starts(cmd, tmp_path, getattr(signal, sig))
    assert p.returncode == code and err.count(f'benchmark {said}: nothing written') == 1 and 'Traceback' not in err, err
    assert list(out.iterdir()) == []


def test_a_second_process_killed_by_a_signal_ends_this_one_with_the_shells_status(monkeypatch, capsys):
    "With --wide-vectors, a second process killed before its own handler is set (or by SIGKILL) reports -N: this one exits 128 + N, with a line."
    class Killed:
        def __init__(self, *args, **kwargs): pass
        def wait(self): return -9
    monkeypatch.setattr(bench.subprocess, 'Popen', Killed)
    with pytest.raises(SystemExit) as e: bench._run_again(['--only', 'train'], dict(os.environ))
    assert e.value.code == 137 and 'benchmark stopped by signal 9: nothing written' in capsys.readouterr().err


def test_outer_blocks_tool_times_each_block_after_checking_its_product():
    "tools/outer_blocks.py (in tools/gpu_run.sh --scaling): every block, odd ones included, gives the right product, then a line of figures."
    tool = Path(__file__).parents[1]/'tools'/'outer_blocks.py'
    res = subprocess.run([sys.executable, str(tool), '--size', '50', '--threads', '1', '--repeats', '1', '--tile-rows', '6', '6x32', '40x7'],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert 'rung 12 at 50^3 on 1 thread' in lines[0] and len(lines) == 3, res.stdout
    assert [l.split(':')[0].strip() for l in lines[1:]] == ['6x32', '40x7'] and all('GFLOP/s' in l for l in lines[1:])
    both = subprocess.run([sys.executable, str(tool), '--size', '50', '--threads', '1', '--repeats', '1', '--tile-rows', '6,12', '40x7'],
                          capture_output=True, text=True, timeout=300)   # each height's product checked too, on 50 rows: edge tiles of 12
    assert both.returncode == 0, both.stderr
    assert [l.split(':')[0].strip() for l in both.stdout.splitlines()[1:]] == ['40x7, 6 rows', '40x7, 12 rows']
    bad = subprocess.run([sys.executable, str(tool), '768x0'], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "two positive whole numbers" in bad.stderr and "'768x0'" in bad.stderr
    bad = subprocess.run([sys.executable, str(tool), '--tile-rows', '6,8'], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "tile heights are 6, 12 or 6,12; got '6,8'" in bad.stderr


@pytest.mark.parametrize('argv', [['--scalling'], ['--help'], ['--notebook', '--again']])
def test_gpu_run_refuses_what_it_does_not_know_before_doing_anything(argv, tmp_path):
    "A typo used to start the full run, ten minutes of a device session's fifteen."
    res = subprocess.run(['bash', str(Path(__file__).parents[1]/'tools'/'gpu_run.sh'), *argv], capture_output=True, text=True,
                         timeout=60, env={**os.environ, 'OUT': str(tmp_path/'out')})
    assert res.returncode == 2 and res.stderr.startswith('usage: tools/gpu_run.sh') and not (tmp_path/'out').exists()


def test_the_targets_take_the_best_compiled_rung():
    from exp.measure import LadderRow, Timing, add_ratios
    rows = add_ratios([LadderRow.timed(name, (5, 784, 10), Timing([t])) for name,t in
                       (('loops', 0.25), ('torch', 5e-6), ('fastmath', 8e-6), ('micro', 4e-6))])
    assert bench.matmul_targets(rows)['small'].rung == 'micro'


def test_the_peak_counts_no_more_cores_than_there_are(monkeypatch):
    monkeypatch.setattr(bench, 'cpu_cores', lambda: 1)
    assert bench.machine_info(torch.float32, 2)['cores'] == 1             # 2 threads on 1 core share its FMA units


def test_the_practical_peak_is_the_best_torch_figure_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, 'practical_peak', lambda sizes, dtype, repeats: (1e-9, 32))   # slower than any torch row
    mm = bench.main([*TINY, '--out', str(tmp_path)])['matmul']
    best = max((r for r in mm['rows'] if r.rung == 'torch'), key=lambda r: r.gflops)
    assert mm['practical_peak_gflops'] == best.gflops and mm['practical_peak_size'] == 'x'.join(map(str, best.size))


def test_a_list_option_given_a_value_twice_is_refused_by_name(capsys):
    "--sizes refused a size given twice (its ratios were read against the other copy); --only and --rungs took theirs."
    for option, value, twice in (('--only', 'matmul,backward,matmul', 'matmul'), ('--rungs', 'torch,loops,torch', 'torch'),
                                 ('--peak-sizes', '32,32', '32'), ('--gpu-sizes', '8x8x8, 8x8x8', '8x8x8')):
        with pytest.raises(SystemExit) as e: bench.parse_args([option, value])
        assert e.value.code == 2 and f'argument {option}: lists {twice} more than once' in capsys.readouterr().err
