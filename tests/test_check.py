"`make check`: a learner's quick check of the install, in seconds, that says what to do when something is missing."
import subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import check


def test_check_passes_on_this_install():
    res = subprocess.run([sys.executable, ROOT/'tools'/'check.py'], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert [l.split(':')[0] for l in lines[:-1]] == ['✓ Python', '✓ the course package', '✓ the data', '✓ JupyterLab', '✓ a lesson']
    assert lines[-1].startswith('all good')


def test_check_stops_at_the_first_problem_and_says_what_to_do(monkeypatch, capsys):
    def missing(): raise RuntimeError("no python3 kernel is registered")
    checks = check.checks()
    checks[3] = (checks[3][0], missing, checks[3][2])
    monkeypatch.setattr(check, 'checks', lambda: checks)
    assert check.main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == '✗ JupyterLab: RuntimeError: no python3 kernel is registered'
    assert out[-1] == '  what to do: run `make clean lab`' and not any('a lesson' in l for l in out)


def _check(name):
    "The function of the check called `name`."
    return next(f for what,f,fix in check.checks() if what == name)


def test_check_names_a_course_package_from_another_folder(monkeypatch, tmp_path):
    import types
    fake = types.ModuleType('exp'); fake.__file__ = str(tmp_path/'exp'/'__init__.py'); fake.__version__ = '0'
    monkeypatch.setitem(sys.modules, 'exp', fake)
    with pytest.raises(RuntimeError, match='not this folder'): _check('the course package')()


def test_check_names_a_kernel_that_runs_another_python(monkeypatch):
    specs = '{"kernelspecs": {"python3": {"spec": {"argv": ["/bin/sh", "-m", "ipykernel_launcher"]}}}}'
    monkeypatch.setattr(check.subprocess, 'run', lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=specs, stderr=''))
    with pytest.raises(RuntimeError, match="would run /bin/sh, not this environment's Python"): _check('JupyterLab')()
