"tools/test_nbs.py: which notebooks `make test-nbs` runs, and that a path naming none is an error, not a run of nothing."
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
import test_nbs


def test_a_folder_stands_for_its_notebooks_and_a_file_for_itself(tmp_path):
    for name in ('b.ipynb', 'a.ipynb', '_draft.ipynb', 'notes.txt'): (tmp_path/name).write_text('{}')
    assert test_nbs.notebooks([tmp_path]) == [tmp_path/'a.ipynb', tmp_path/'b.ipynb']
    assert test_nbs.notebooks([tmp_path/'b.ipynb', tmp_path]) == [tmp_path/'b.ipynb', tmp_path/'a.ipynb', tmp_path/'b.ipynb']


@pytest.mark.parametrize('name', ['01_matmull.ipynb', 'notes.txt', 'empty'])
def test_a_path_naming_no_notebook_is_an_error(tmp_path, name):
    "A misspelt NB= used to pass: ls failed, xargs got nothing and exited 0."
    (tmp_path/'notes.txt').write_text('x'); (tmp_path/'empty').mkdir()
    with pytest.raises(SystemExit, match='neither a notebook nor a folder|no notebooks in'): test_nbs.notebooks([tmp_path/name])
    (tmp_path/'a.ipynb').write_text('{}')
    with pytest.raises(SystemExit): test_nbs.notebooks([tmp_path/'a.ipynb', tmp_path/name])     # beside a notebook too


def test_the_exit_status_says_whether_a_notebook_failed(tmp_path, monkeypatch):
    for name in ('good.ipynb', 'bad.ipynb'): (tmp_path/name).write_text('{}')
    ran = []
    def fake_run(cmd, **kw):
        ran.append(Path(cmd[-1]).name)
        return type('Done', (), {'returncode': int(cmd[-1].endswith('bad.ipynb'))})()
    monkeypatch.setattr(test_nbs.subprocess, 'run', fake_run)
    assert test_nbs.main(['--workers', '0', str(tmp_path/'good.ipynb')]) == 0
    assert test_nbs.main(['--workers', '2', str(tmp_path)]) == 1 and sorted(ran) == ['bad.ipynb', 'good.ipynb', 'good.ipynb']
