"Each gate of `make test` passes on the project and fails on a deliberately broken copy of it; so does `make export`."
import json, os, shutil, subprocess, sys
from pathlib import Path

import nbformat, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import gates

BIN = Path(sys.executable).parent


def write_nb(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    "A small copy of the project: settings.ini and notebook 00, exported and cleaned."
    shutil.copy(ROOT/'settings.ini', tmp_path)
    (tmp_path/'nbs').mkdir()
    shutil.copy(ROOT/'nbs'/'00_exports.ipynb', tmp_path/'nbs')
    for cmd in ('nbdev_export', 'nbdev_clean'): subprocess.run([BIN/cmd], cwd=tmp_path, check=True, env=gates.nbdev_env())
    return tmp_path


def test_the_gates_pass_on_a_clean_copy(project):
    assert gates.lint(project) == [] and gates.exports(project) == [] and gates.clean(project) == [] and gates.outputs(project) == []


def test_lint_catches_directives_nbdev_would_ignore(project):
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp x', '#export\ndef a(): pass', '# export\ndef b(): pass',
             '#exports\ndef c(): pass', '#|exprot\ndef d(): pass', '#| expotr\nx = 1',
             '#|export\ndef ok(): pass', '#| eval: false\n#|hide\ny = 2', 'z = 3\n#export  (a comment, not at the top)')
    problems = gates.lint(project)
    assert len(problems) == 5, problems
    for cell,text in [(2, "'#export'"), (3, "'# export'"), (4, "'#exports'"), (5, "'exprot'"), (6, "'expotr'")]:
        assert any(f'01_x.ipynb: cell {cell}, line 1' in p and text in p for p in problems), (cell, problems)


def test_lint_leaves_comments_that_start_with_a_directives_word(project):
    "'# hide the axis ticks' at the top of a cell failed make test as a legacy '#hide'."
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp x', '# hide the axis ticks\nx = 1', '# slow version, for comparison\ny = 2',
             '# export to ONNX\nz = 3', '#default_exp x', '#  Hide  \nw = 4', '#export core\ndef f(): pass', '# Export figures\nv = 5')
    problems = gates.lint(project)
    assert [p.split(': ')[1] for p in problems] == ['cell 5, line 1', 'cell 6, line 1', 'cell 7, line 1'], problems   # directives: alone, or with a module
    assert "write '#|default_exp x'" in problems[0] and "write '#|hide'" in problems[1] and "write '#|export core'" in problems[2]


def test_exports_gate_catches_a_hand_edit_and_a_stray_module(project):
    (project/'exp'/'nb_00.py').write_text((project/'exp'/'nb_00.py').read_text() + '\nx = 1  # edited by hand\n')
    assert any('differs: nb_00.py' in p for p in gates.exports(project))
    subprocess.run([BIN/'nbdev_export'], cwd=project, check=True, env=gates.nbdev_env())
    (project/'exp'/'nb_99.py').write_text('# left behind\n')
    assert any('nb_99.py' in p for p in gates.exports(project))


def test_exports_gate_looks_into_subpackages(project):
    write_nb(project/'nbs'/'01_sub.ipynb', '#|default_exp sub.x', '#|export\ndef f(): return 1')
    subprocess.run([BIN/'nbdev_export'], cwd=project, check=True, env=gates.nbdev_env())
    assert gates.exports(project) == []
    (project/'exp'/'sub'/'x.py').write_text((project/'exp'/'sub'/'x.py').read_text() + 'y = 2  # edited by hand\n')
    assert any('differs: x.py' in p for p in gates.exports(project))


def test_exports_gate_catches_a_notebook_not_exported(project):
    write_nb(project/'nbs'/'01_new.ipynb', '#|default_exp nb_01', '#|export\ndef f(): return 1')
    assert any('nb_01.py' in p for p in gates.exports(project))


def test_clean_gate_catches_a_dirty_notebook(project):
    nb = json.loads((project/'nbs'/'00_exports.ipynb').read_text())
    nb['cells'][1]['execution_count'] = 7
    nb['metadata']['widgets'] = {'state': {}}
    (project/'nbs'/'00_exports.ipynb').write_text(json.dumps(nb, indent=1))
    assert gates.clean(project) == ['nbs/00_exports.ipynb is not clean: run `make export` (it cleans) or `nbdev_clean`']


def test_outputs_gate_catches_saved_errors_and_stderr(project):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('1/0', outputs=[nbformat.v4.new_output('error', ename='ZeroDivisionError', evalue='division by zero', traceback=[])]),
        nbformat.v4.new_code_cell('import sys; print("fine"); print("noise", file=sys.stderr)', outputs=[
            nbformat.v4.new_output('stream', name='stdout', text='fine\n'), nbformat.v4.new_output('stream', name='stderr', text='noise\n')]),
        nbformat.v4.new_code_cell('2', outputs=[nbformat.v4.new_output('execute_result', data={'text/plain': '2'}, execution_count=None)])])
    nbformat.write(nb, project/'nbs'/'01_x.ipynb')
    problems = gates.outputs(project)
    assert len(problems) == 2, problems
    assert '01_x.ipynb: cell 1' in problems[0] and 'ZeroDivisionError' in problems[0]
    assert '01_x.ipynb: cell 2' in problems[1] and "'noise'" in problems[1]


def test_lint_catches_exported_cells_that_are_not_python(project):
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp x', '#|export\ndef a(): pass\n\ndef b(:\n    pass',
             '#| exports\nx = (1,', '#|exporti\n  y = 2', '%timeit 1 + 1', 'def not_exported(:')
    problems = gates.lint(project)
    assert len(problems) == 3, problems
    for cell,line in [(2, 4), (3, 2), (4, 2)]:
        assert any(p.startswith(f'01_x.ipynb: cell {cell}, line {line}: ') for p in problems), (cell, problems)


def test_lint_catches_two_notebooks_writing_one_module(project):
    write_nb(project/'nbs'/'01_a.ipynb', '#|default_exp nb_01', '#|export\ndef f(): return 1')
    write_nb(project/'nbs'/'01_b.ipynb', '#|default_exp nb_01', '#|export\ndef g(): return 2')
    problems = gates.lint(project)
    assert len(problems) == 1 and '01_a.ipynb and 01_b.ipynb' in problems[0] and 'exp/nb_01.py' in problems[0], problems


def test_every_gate_names_a_notebook_that_is_not_json(project):
    (project/'nbs'/'01_bad.ipynb').write_text('{"cells": [')
    for name,gate in gates.GATES.items():
        assert any(p.startswith('nbs/01_bad.ipynb is not a valid notebook') for p in gate(project)), name


def package_files(project):
    return {p.relative_to(project): p.read_bytes() for p in (project/'exp').rglob('*') if '__pycache__' not in p.parts and p.is_file()}


def make_export(project, **env):
    "Run what `make export` runs on `project`."
    return subprocess.run([sys.executable, ROOT/'tools'/'export.py', '--root', project], capture_output=True, text=True,
                          env={**gates.nbdev_env(), **env})


def test_make_export_writes_exp_as_nbdev_export_does(project):
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp nb_01', '#|export\nfrom exp.nb_00 import *\ndef f(): return 1')
    res = make_export(project, IN_TEST='1')   # as if run from a notebook under nbdev_test: it still exports
    assert res.returncode == 0 and 'wrote nb_01.py' in res.stdout, res.stdout + res.stderr
    assert gates.exports(project) == [] and gates.clean(project) == []
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp nb_01x', '#|export\ndef f(): return 2')   # a renamed module
    res = make_export(project)
    assert res.returncode == 0 and 'removed nb_01.py' in res.stdout, res.stdout + res.stderr
    assert not (project/'exp'/'nb_01.py').exists() and gates.exports(project) == []


def test_make_export_refuses_a_syntax_error_and_leaves_exp_alone(project):
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp nb_01', '#|export\nfrom exp.nb_00 import *\ndef f(): return 1')
    assert make_export(project).returncode == 0
    before = package_files(project)
    write_nb(project/'nbs'/'01_x.ipynb', '#|default_exp nb_01', '#|export\nfrom exp.nb_00 import *\ndef f(: return 2')
    res = make_export(project)
    assert res.returncode != 0 and '01_x.ipynb: cell 2, line 3: ' in res.stderr, res.stdout + res.stderr
    assert package_files(project) == before
    check = subprocess.run([sys.executable, '-c', 'import exp.nb_01; assert exp.nb_01.f() == 1'], cwd=project, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_make_export_refuses_two_notebooks_writing_one_module_or_bad_json(project):
    before = package_files(project)
    write_nb(project/'nbs'/'01_a.ipynb', '#|default_exp nb_00', '#|export\ndef f(): return 1')
    res = make_export(project)
    assert res.returncode != 0 and '00_exports.ipynb and 01_a.ipynb' in res.stderr, res.stdout + res.stderr
    (project/'nbs'/'01_a.ipynb').write_text('{"cells": [')
    res = make_export(project)
    assert res.returncode != 0 and 'nbs/01_a.ipynb is not a valid notebook' in res.stderr, res.stdout + res.stderr
    assert package_files(project) == before


def test_busy_runs_the_command_with_busy_loops_and_stops_them():
    import busy, psutil
    code = ("import psutil, os; me = psutil.Process(os.getppid()); "
            f"print(sum(p.cmdline()[-2:-1] == [{busy.SPIN!r}] for p in me.children()))")
    res = subprocess.run([sys.executable, ROOT/'tools'/'busy.py', '2', '--', sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip().splitlines()[-1] == '2', res.stdout + res.stderr   # two loops beside it
    assert busy.run_busy(1, [sys.executable, '-c', 'raise SystemExit(3)']) == 3                          # its exit status
    assert not [p for p in psutil.Process().children() if p.cmdline()[-2:-1] == [busy.SPIN]]           # none left behind
    with pytest.raises(ValueError): busy.run_busy(-1, ['true'])


def test_busy_loops_stop_when_busy_is_killed():
    "A SIGKILL (subprocess.run's timeout sends one) skips busy.py's `finally`: the loops stop by themselves, their parent gone."
    import busy, psutil, time
    proc = subprocess.Popen([sys.executable, ROOT/'tools'/'busy.py', '2', '--', 'sleep', '30'], stdout=subprocess.DEVNULL)
    for _ in range(100):
        loops = [p for p in psutil.Process(proc.pid).children() if p.cmdline()[-2:-1] == [busy.SPIN]]
        if len(loops) == 2: break
        time.sleep(0.1)
    assert len(loops) == 2
    sleeper = [p for p in psutil.Process(proc.pid).children() if p.cmdline()[:1] == ['sleep']]
    proc.kill(); proc.wait()
    gone, alive = psutil.wait_procs(loops, timeout=10)
    for p in sleeper + alive: p.kill()
    assert not alive, alive


def test_notebook_gate_fails_on_a_failing_cell(tmp_path):
    shutil.copy(ROOT/'settings.ini', tmp_path); (tmp_path/'nbs').mkdir()
    write_nb(tmp_path/'nbs'/'good.ipynb', 'x = 1', 'assert x == 1')
    write_nb(tmp_path/'nbs'/'bad.ipynb', 'x = 1', 'assert x == 2, "x is not 2"')
    run = lambda nb: subprocess.run([BIN/'nbdev_test', '--path', f'nbs/{nb}'], cwd=tmp_path, capture_output=True, text=True, env=gates.nbdev_env())
    assert run('good.ipynb').returncode == 0
    bad = run('bad.ipynb')
    assert bad.returncode != 0 and 'x is not 2' in bad.stdout + bad.stderr


def test_gates_cli_exit_status(project):
    cli = lambda: subprocess.run([sys.executable, ROOT/'tools'/'gates.py', '--root', project], capture_output=True, text=True, env=gates.nbdev_env())
    ok = cli()
    assert ok.returncode == 0 and 'lint: ok' in ok.stdout and 'clean: ok' in ok.stdout
    write_nb(project/'nbs'/'01_x.ipynb', '#export\ndef a(): pass')
    bad = cli()
    assert bad.returncode == 1 and "write '#|export'" in bad.stdout
