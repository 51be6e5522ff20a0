"Tests for exp.bench: the options, the sections, the files written and the command line (tiny configurations, no timing assertions)."
import csv, json, subprocess, sys, types
from pathlib import Path

import pytest, torch

import exp.bench as bench

TINY = ['--only', 'matmul', '--sizes', '3x5x4,9x7x6', '--rungs', 'loops,torch,fastmath,micro',
        '--peak-sizes', '32', '--repeats', '2', '--min-time', '0.001']


def test_parse_defaults_and_quick():
    full,quick = bench.parse_args([]),bench.parse_args(['--quick'])
    assert full.sizes == [(5, 784, 10), (50_000, 784, 10), (1024, 1024, 1024)] and full.only == ['matmul', 'backward', 'train']
    assert quick.repeats < full.repeats and quick.max_call < full.max_call and 'train' not in quick.only
    explicit = bench.parse_args(['--quick', '--repeats', '9', '--sizes', '2x3x4'])
    assert explicit.repeats == 9 and explicit.sizes == [(2, 3, 4)], "options given explicitly beat --quick's defaults"
    assert bench.parse_args(['--out', 'x']).out == Path('x')


@pytest.mark.parametrize('argv', [['--only', 'matmul,nope'], ['--rungs', 'loops,warp'], ['--sizes', '5x784'],
                                  ['--sizes', '5x-1x3'], ['--repeats', '0']])
def test_bad_options_exit_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as e: bench.parse_args(argv)
    assert e.value.code == 2 and 'error' in capsys.readouterr().err


def test_parse_size():
    assert bench.parse_size('5x784x10') == (5, 784, 10) and bench.parse_size('1X2X3') == (1, 2, 3)


def test_main_writes_files_and_prints_table(tmp_path, capsys):
    res = bench.main(TINY + ['--out', str(tmp_path)])
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ['matmul.csv', 'matmul.png', 'results.json']
    assert '[  8/8]' in out and 'GFLOP/s' in out and 'targets:' in out and 'wrote' in out   # progress, table, targets
    data = json.loads((tmp_path/'results.json').read_text())
    assert data['machine']['cores'] >= 1 and data['options']['sizes'] == [[3, 5, 4], [9, 7, 6]]
    assert {r['rung'] for r in data['matmul']['rows']} >= {'loops', 'torch', 'fastmath', 'micro'}
    assert set(data['matmul']['targets']) == {'small', 'large'} and data['matmul']['targets']['small']['size'] == '3x5x4'
    with open(tmp_path/'matmul.csv') as f: rows = list(csv.DictReader(f))
    assert len(rows) == len(res['matmul']['rows']) and float(rows[0]['median']) > 0
    assert (tmp_path/'matmul.png').read_bytes()[:4] == b'\x89PNG'


def test_backward_section(tmp_path, capsys):
    res = bench.main(['--only', 'backward', '--rows', '256', '--repeats', '1', '--out', str(tmp_path)])
    bw = res['backward']
    assert 'skipped' in bw or (bw['rows'] == 256 and bw['hand_vs_autograd'] > 0 and isinstance(bw['met'], bool))
    assert 'backward:' in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ['results.json']


def test_train_section_uses_notebook_03(monkeypatch, tmp_path):
    fake = types.ModuleType('exp.nb_03')
    fake.train_mnist = lambda: {'accuracy': 0.975, 'loss': 0.1}
    monkeypatch.setitem(sys.modules, 'exp.nb_03', fake)
    res = bench.main(['--only', 'train', '--out', str(tmp_path)])
    assert res['train']['accuracy'] == 0.975 and res['train']['met'] is True and res['train']['seconds'] == res['train']['wall_seconds'] >= 0


def test_train_section_prefers_the_reported_training_time(monkeypatch, tmp_path):
    fake = types.ModuleType('exp.nb_03')
    fake.train_mnist = lambda: types.SimpleNamespace(accuracy=0.96, seconds=5.0)
    monkeypatch.setitem(sys.modules, 'exp.nb_03', fake)
    res = bench.main(['--only', 'train', '--out', str(tmp_path)])
    assert res['train']['seconds'] == 5.0 and res['train']['met'] is False


def test_accuracy_field():
    assert bench._accuracy(0.5) == 0.5 and bench._accuracy({'acc': 0.9}) == 0.9
    assert bench._accuracy(types.SimpleNamespace(accuracy=0.8)) == 0.8


def test_command_line(tmp_path):
    "`python -m exp.bench` runs `main` (the notebook guard does not stop it outside IPython)."
    res = subprocess.run([sys.executable, '-m', 'exp.bench', *TINY, '--out', str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert res.returncode == 0, res.stderr
    assert 'targets:' in res.stdout and (tmp_path/'results.json').exists()
    help_ = subprocess.run([sys.executable, '-m', 'exp.bench', '--help'], capture_output=True, text=True, timeout=120)
    assert help_.returncode == 0 and '--quick' in help_.stdout and '--only' in help_.stdout


def test_wide_vectors(tmp_path):
    res = bench.main(['--wide-vectors', *TINY, '--rungs', 'torch,micro', '--out', str(tmp_path)])
    if bench.wide_vector_env() is None: assert res['machine']['numba_cpu_features'] is None
    else: assert res['machine']['numba_cpu_features'].endswith('-prefer-256-bit')
    assert (tmp_path/'matmul.csv').exists()


def test_not_run_on_import():
    assert not bench._in_notebook()
