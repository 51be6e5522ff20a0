"""The exercise mechanism: `make exercises` (tools/exercises.py) and the learner's copies it writes, which run top to
bottom with every check saying "not attempted yet"."""
import json, re, subprocess, sys
from pathlib import Path

import pytest
from execnb.nbio import dict2nb
from execnb.shell import CaptureShell

from exercise_checks import ROOT, cells, checks

sys.path.insert(0, str(ROOT/'tools'))
import exercises  # noqa: E402  (tools/exercises.py)

NBS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
WITH_EXERCISES = [p.stem for p in NBS if exercises.learner_copy(json.loads(p.read_text()))[1]]
CHECK_CALL = re.compile(r'^(\w+)\.check\(', re.M)


def test_lessons_have_exercises():
    lessons = {'01_matmul', '01b_inside_the_operator', '01c_gpu', '02_fully_connected', '02b_autograd', '03_minibatch_training'}
    assert lessons <= set(WITH_EXERCISES), f"lessons without exercises: {sorted(lessons - set(WITH_EXERCISES))}"
    few = {stem: len(checks(stem)) for stem in lessons if len(checks(stem)) < 4}
    assert not few, f"lessons with fewer than four exercises: {few}"


def test_stub_out_accepts_methods_and_nested_blocks():
    src = ('class A(B):\n    @property\n    def f(self,\n          x=1):\n        "doc"\n        if x:\n'
           '            ### BEGIN SOLUTION\n            return 2\n            ### END SOLUTION\n        return 3')
    new, n = exercises.stub_out(src)
    assert n == 1 and '            raise NotImplementedError()\n        return 3' in new


def test_stub_out_keeps_indentation_and_the_rest():
    src = 'def f(x):\n    "doc"\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n\nf'
    new, n = exercises.stub_out(src)
    assert n == 1
    assert new == 'def f(x):\n    "doc"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nf'
    assert exercises.stub_out('x = 1') == ('x = 1', 0)


@pytest.mark.parametrize('src,msg', [
    ('### BEGIN SOLUTION\nx = 1\n### END SOLUTION', "line 1: a solution outside a function's body"),
    ('def f():\n    ### BEGIN SOLUTION\n    return 1', "line 2: '### BEGIN SOLUTION' without an '### END SOLUTION'"),
    ('def f():\n    return 1\n    ### END SOLUTION', "line 3: '### END SOLUTION' without"),
    ('def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n', 'line 3'),
    ('class A:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION', "line 2: a solution outside a function's body"),
    ('if True:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION', "line 2: a solution outside a function's body"),
    ('def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION', "line 2: '# BEGIN SOLUTION' is not a marker"),
    ('def f():\n    ### BEGIN SOLUTION ###\n    return 1\n    ### END SOLUTION', 'is not a marker'),
])
def test_stub_out_refuses_misplaced_markers(src, msg):
    with pytest.raises(ValueError, match=re.escape(msg)): exercises.stub_out(src, 'nb: cell 3')


def _nb(*sources):
    return {'cells': [{'cell_type': 'code', 'source': s, 'outputs': [{'output_type': 'stream', 'text': 'x'}],
                       'execution_count': 3, 'metadata': {}} for s in sources], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}


def test_copies_clear_outputs_and_keep_a_learners_work(tmp_path):
    src = tmp_path/'nbs'; src.mkdir()
    (src/'01_a.ipynb').write_text(json.dumps(_nb('def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION')))
    (src/'02_b.ipynb').write_text(json.dumps(_nb('print(1)')))   # no exercises: no copy
    out = tmp_path/'exercises'
    assert exercises.write_copies(sorted(src.glob('*.ipynb')), out) == [f"wrote {out/'01_a.ipynb'}: 1 stub(s) to fill in"]
    copy = json.loads((out/'01_a.ipynb').read_text())['cells'][0]
    assert ''.join(copy['source']) == 'def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    assert copy['outputs'] == [] and copy['execution_count'] is None
    assert sorted(p.name for p in out.iterdir()) == ['01_a.ipynb']   # no temporary file left
    (out/'01_a.ipynb').write_text('my answers')
    assert exercises.write_copies(sorted(src.glob('*.ipynb')), out) == [
        f"kept 1 copy already in {out}/, which may hold your answers: to refresh one, rename or delete it and run make exercises again"]
    assert (out/'01_a.ipynb').read_text() == 'my answers'
    exercises.write_copies(sorted(src.glob('*.ipynb')), out, force=True)
    assert 'NotImplementedError' in (out/'01_a.ipynb').read_text()


def test_a_kept_copy_lacking_newer_exercises_is_named(tmp_path):
    src = tmp_path/'nbs'; src.mkdir()
    answer = 'def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION'
    (src/'01_a.ipynb').write_text(json.dumps(_nb(answer, 'ex1.check(f)')))
    out = tmp_path/'exercises'
    exercises.write_copies([src/'01_a.ipynb'], out)
    (src/'01_a.ipynb').write_text(json.dumps(_nb(answer, 'ex1.check(f)', answer.replace('f()', 'g()'), 'ex2.check(g)')))
    said = exercises.write_copies([src/'01_a.ipynb'], out)
    assert said[0] == (f"{out/'01_a.ipynb'} lacks the lesson's newer exercises ex2: copy them from a fresh copy "
                       "(rename yours, then make exercises)") and said[1].startswith('kept 1 copy')


def test_a_kept_copy_of_a_changed_lesson_is_named(tmp_path):
    "After a git pull, a copy kept its old checks and text, and make exercises said only 'kept 1 copy'."
    src, out = tmp_path/'nbs', tmp_path/'exercises'; src.mkdir()
    answer = 'def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION'
    (src/'01_a.ipynb').write_text(json.dumps(_nb(answer, 'ex1.check(f)')))
    exercises.write_copies([src/'01_a.ipynb'], out)
    assert exercises.write_copies([src/'01_a.ipynb'], out)[0].startswith('kept 1 copy')       # the same lesson: nothing to say
    (src/'01_a.ipynb').write_text(json.dumps(_nb(answer, 'ex1.check(f)  # a stricter check')))
    said = exercises.write_copies([src/'01_a.ipynb'], out)
    assert said[0].startswith(f"{out/'01_a.ipynb'} was made from an earlier version of the lesson") and said[1].startswith('kept 1 copy')


def test_a_kept_copy_from_before_versions_were_recorded_says_so(tmp_path):
    src, out = tmp_path/'nbs', tmp_path/'exercises'; src.mkdir(); out.mkdir()
    (src/'01_a.ipynb').write_text(json.dumps(_nb('def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION', 'ex1.check(f)')))
    (out/'01_a.ipynb').write_text(json.dumps(_nb('def f():\n    return 41', 'ex1.check(f)')))     # no version in its metadata
    assert exercises.write_copies([src/'01_a.ipynb'], out)[0].startswith(f"{out/'01_a.ipynb'} was made before copies recorded")


def test_the_checks_cell_is_folded_in_the_copy():
    nb, _ = exercises.learner_copy(_nb('#| code-fold: true\nex1 = Exercise("ex1", c, "h")', 'print(1)'))
    assert nb['cells'][0]['metadata'] == {'jupyter': {'source_hidden': True}} and nb['cells'][1]['metadata'] == {}


def test_a_misplaced_marker_writes_nothing(tmp_path):
    src = tmp_path/'nbs'; src.mkdir()
    (src/'01_a.ipynb').write_text(json.dumps(_nb('def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION')))
    (src/'02_b.ipynb').write_text(json.dumps(_nb('### BEGIN SOLUTION\nx = 1\n### END SOLUTION')))
    with pytest.raises(ValueError, match='02_b.ipynb: cell 1, line 1'): exercises.write_copies(sorted(src.glob('*.ipynb')), tmp_path/'out')
    assert not (tmp_path/'out').exists()
    assert exercises.problems(sorted(src.glob('*.ipynb'))) == [
        "02_b.ipynb: cell 1, line 1: a solution outside a function's body; put it inside a function or a method (its "
        'stub raises NotImplementedError, which would stop Run All there)']


def test_make_exercises_command(tmp_path):
    res = subprocess.run([sys.executable, ROOT/'tools'/'exercises.py', '--out', tmp_path], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert sorted(p.stem for p in tmp_path.glob('*.ipynb')) == WITH_EXERCISES
    assert 'stub(s) to fill in' in res.stdout


@pytest.mark.parametrize('stem', WITH_EXERCISES)
def test_every_exercise_is_checked_once_in_its_notebook(stem):
    code = cells(stem)
    calls = [m.group(1) for c in code for m in CHECK_CALL.finditer(c) if m.group(1) in checks(stem)]  # not 00's demo
    assert sorted(calls) == sorted(checks(stem)), f"check calls {calls}, exercises {sorted(checks(stem))}"
    solutions = sum(exercises.stub_out(c)[1] for c in code)
    assert solutions >= len(calls), f"{solutions} solution(s) for {len(calls)} exercises"
    assert (ROOT/'tests'/f"test_exercises_{stem.split('_')[0]}.py").exists(), 'no wrong answers listed for its checks'


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
@pytest.mark.parametrize('stem', WITH_EXERCISES)
def test_learner_copy_runs_with_every_check_not_attempted(stem, tmp_path, monkeypatch):
    "In a folder as `make exercises` leaves it (a notebook may read its neighbours), run the copy as nbdev_test would."
    exercises.write_copies(NBS, tmp_path)
    monkeypatch.chdir(tmp_path)
    nb = dict2nb(json.loads((tmp_path/f'{stem}.ipynb').read_text()))
    nb.cells = [c for c in nb.cells if not re.search(r'^#\|\s*(notest|eval:\s*false)', c.source, re.M)]  # as nbdev_test skips
    CaptureShell().run_all(nb, exc_stop=True)
    text = '\n'.join(o.get('text', '') if isinstance(o.get('text', ''), str) else ''.join(o['text'])
                     for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'stream')
    said = re.findall(r'^(\w+): (correct|not attempted yet)', text, re.M)
    said = [s for s in said if s[0] in checks(stem)]   # not 00's demo of the three outcomes
    assert sorted(said) == sorted((name, 'not attempted yet') for name in checks(stem)), said


def test_a_solution_after_a_one_line_def_is_outside_a_function():
    with pytest.raises(ValueError, match="line 2: a solution outside a function's body"):
        exercises.stub_out('def g(): pass\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n')


def test_checked_finds_a_check_on_any_line_of_a_cell():
    assert exercises.checked({'cells': [{'cell_type': 'code', 'source': 'f(1)\nex2.check(f)'}]}) == {'ex2'}


@pytest.mark.parametrize('text,says', [('not json', 'is not valid JSON'), ('{}', 'is not a notebook'),
                                       ('{"cells": [{"cell_type": "code"}]}', 'is not a notebook')])
def test_a_broken_notebook_is_named_and_no_copy_is_written(tmp_path, text, says):
    "`make exercises` printed JSON's 'Expecting value: line 1 column 1' without the file, or a KeyError's traceback."
    bad = tmp_path/'09_broken.ipynb'; bad.write_text(text)
    with pytest.raises(ValueError, match=f'09_broken.ipynb {says}'): exercises.write_copies([ROOT/'nbs'/'01_matmul.ipynb', bad], tmp_path/'out')
    assert not (tmp_path/'out').exists() or not any((tmp_path/'out').iterdir())
    assert exercises.problems([bad]) == ([] if says == 'is not valid JSON' else [f'09_broken.ipynb {says}: no list of cells, each with its type and source'])
