"tools/outputs.py (`make outputs`): notebooks re-run and saved cleaned, all of them or none, and nothing half-written left behind."
import json, sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
import outputs


def notebook(path, *sources):
    "Write a notebook of code cells `sources` (no outputs) to `path`; its text."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)
    return path.read_text()


def test_outputs_are_saved_cleaned_in_the_notebooks_own_folder(tmp_path):
    (tmp_path/'data.txt').write_text('from a neighbour')
    nb = tmp_path/'a.ipynb'
    notebook(nb, "print(open('data.txt').read())", "1 + 1")
    outputs.outputs([nb])
    cells = json.loads(nb.read_text())['cells']
    assert cells[0]['outputs'][0]['text'] == ['from a neighbour\n'] and cells[1]['outputs'][0]['data']['text/plain'] == ['2']
    assert all(c['execution_count'] is None for c in cells)                         # as nbdev_clean leaves them
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.ipynb', 'data.txt']


def test_a_failing_notebook_changes_no_notebook_and_leaves_no_copy(tmp_path):
    good, bad, later = tmp_path/'1_good.ipynb', tmp_path/'2_bad.ipynb', tmp_path/'3_later.ipynb'
    before = {nb: notebook(nb, src) for nb,src in [(good, "print('ran')"), (bad, "1 / 0"), (later, "print('ran')")]}
    with pytest.raises(SystemExit, match=r'2_bad.ipynb failed, so no notebook was changed:(.|\n)*ZeroDivisionError'):
        outputs.outputs([good, bad, later])
    assert {nb: nb.read_text() for nb in before} == before                        # the one that ran is not saved either
    assert sorted(p.name for p in tmp_path.iterdir()) == ['1_good.ipynb', '2_bad.ipynb', '3_later.ipynb']


def test_no_notebook_or_a_path_that_is_not_one_is_refused_by_name(tmp_path):
    with pytest.raises(SystemExit, match='no notebook to run .*NB=nbs/01c_gpu.ipynb'): outputs.outputs([])
    (tmp_path/'notes.txt').write_text('x')
    with pytest.raises(SystemExit, match='not a notebook: .*notes.txt, .*missing.ipynb'):
        outputs.outputs([tmp_path/'notes.txt', tmp_path/'missing.ipynb'])


def test_a_kill_while_running_leaves_no_copy_and_no_notebook_changed(tmp_path):
    "SIGTERM (a closed terminal, a cancelled job) skipped the cleanup: a copy named .NAME.part.ipynb stayed beside the notebooks."
    import signal, subprocess, time
    first, slow = tmp_path/'1_first.ipynb', tmp_path/'2_slow.ipynb'
    before = {first: notebook(first, "print('ran')"), slow: notebook(slow, "import time; time.sleep(60)")}
    proc = subprocess.Popen([sys.executable, Path(outputs.__file__), first, slow], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if outputs.part_of(first).exists(): break
        time.sleep(0.1)
    assert outputs.part_of(first).exists()                       # the first has run; the second is running
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert {nb: nb.read_text() for nb in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['1_first.ipynb', '2_slow.ipynb']
