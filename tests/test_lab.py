"Smoke test: JupyterLab serves the course on 127.0.0.1 and runs a cell in a kernel with the course's environment."
import asyncio, json, os, secrets, socket, subprocess, sys, time, urllib.error, urllib.request, uuid
from pathlib import Path

import pytest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[1]


class CellError(Exception): "The cell raised in the kernel."


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class Lab:
    "A JupyterLab server on 127.0.0.1, reached through its REST API."
    def __init__(self, root_dir):
        self.port,self.token = free_port(),secrets.token_hex(16)
        self.url = f'http://127.0.0.1:{self.port}'
        cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={self.port}',
               f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={root_dir}', '--ServerApp.open_browser=False']
        if os.geteuid() == 0: cmd.append('--allow-root')     # containers and CI often run as root
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(240):
            try: self.api('GET', 'status'); return
            except (urllib.error.URLError, ConnectionError): time.sleep(0.25)
            if self.proc.poll() is not None: break
        self.close(); raise RuntimeError(f"JupyterLab did not start: {self.proc.stderr.read()[-2000:]}")

    def api(self, method, path, body=None, token=None):
        req = urllib.request.Request(f'{self.url}/api/{path}', method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={'Authorization': f'token {token or self.token}', 'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return json.loads(data) if data else None

    def run_cell(self, kernel_id, code, timeout=120):
        "Run `code` in the kernel; return what it printed, or raise `CellError`."
        async def go():
            ws = await websocket_connect(f'ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels?token={self.token}')
            msg_id = uuid.uuid4().hex
            ws.write_message(json.dumps({'channel': 'shell', 'parent_header': {}, 'metadata': {}, 'buffers': [],
                'header': {'msg_id': msg_id, 'msg_type': 'execute_request', 'username': 'test', 'session': uuid.uuid4().hex, 'version': '5.3'},
                'content': {'code': code, 'silent': False, 'store_history': False, 'user_expressions': {}, 'allow_stdin': False}}))
            out,err = [],None
            while True:
                msg = json.loads(await ws.read_message())
                if msg.get('parent_header', {}).get('msg_id') != msg_id: continue
                kind,content = msg['msg_type'],msg['content']
                if kind == 'stream': out.append(content['text'])
                elif kind == 'error': err = f"{content['ename']}: {content['evalue']}"
                elif kind == 'status' and content['execution_state'] == 'idle' and msg['channel'] == 'iopub': break
            ws.close()
            if err: raise CellError(err)
            return ''.join(out)
        return asyncio.run(asyncio.wait_for(go(), timeout))

    def close(self):
        try: self.api('POST', 'shutdown')
        except Exception: pass
        try: self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()


@pytest.fixture(scope='module')
def lab():
    lab = Lab(ROOT)          # as `make lab` starts it: at the project's root, where the README is
    yield lab
    lab.close()
    assert lab.proc.returncode is not None


@pytest.fixture(scope='module')
def kernel(lab):
    k = lab.api('POST', 'kernels', {'name': 'python3'})
    yield k['id']
    lab.api('DELETE', f"kernels/{k['id']}")


def test_lab_shows_the_readme_and_the_lessons(lab):
    names = {f['name'] for f in lab.api('GET', 'contents')['content']}
    assert {'README.md', 'nbs'} <= names
    lessons = {f['name'] for f in lab.api('GET', 'contents/nbs')['content']}
    assert {p.name for p in (ROOT/'nbs').glob('*.ipynb')} <= lessons and '00_exports.ipynb' in lessons


def test_make_lab_opens_the_readme_at_the_root():
    cmd = subprocess.run(['make', '-n', 'lab'], cwd=ROOT, capture_output=True, text=True).stdout
    assert '--ServerApp.root_dir=.' in cmd and 'default_url=/lab/tree/README.md' in cmd
    assert 'tools/exercises.py' in cmd and '--force' not in cmd   # the learner's copies, never overwritten


def test_lab_refuses_a_wrong_token(lab):
    with pytest.raises(urllib.error.HTTPError) as e: lab.api('GET', 'contents', token='wrong')
    assert e.value.code == 403


def test_a_cell_runs_with_the_course_environment(lab, kernel):
    out = lab.run_cell(kernel, "import sys, exp\nfrom exp.nb_00 import *\ntest_eq(1 + 1, 2)\nprint(sys.prefix)\nprint(exp.__file__)")
    prefix,exp_file = out.split()
    assert Path(prefix) == Path(sys.prefix) and Path(exp_file).parent == ROOT/'exp'


def test_a_failing_cell_is_reported(lab, kernel):
    with pytest.raises(CellError, match='ModuleNotFoundError'): lab.run_cell(kernel, 'import not_a_module_of_the_course')


def test_make_uses_the_python_that_made_the_venv_and_force_only_when_asked(tmp_path):
    "A rebuild after a pull ran plain python3 (another Python: .venv made afresh); FORCE=0 meant --force."
    (tmp_path/'Makefile').write_text((ROOT/'Makefile').read_text())
    (tmp_path/'settings.ini').write_text('doc_path = _docs\n')
    env = {k: v for k,v in os.environ.items() if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'PYTHON', 'FORCE')}   # not the make running the tests
    dry = lambda *args: subprocess.run(['make', '-n', '--no-print-directory', *args], cwd=tmp_path, env=env,
                                       capture_output=True, text=True).stdout
    assert dry('exercises').startswith('python3 tools/exercises.py')             # no .venv yet: python3
    assert '--force' not in dry('exercises', 'FORCE=0') and '--force' in dry('exercises', 'FORCE=1')
    (tmp_path/'.venv').mkdir()
    made_by = tmp_path/'python3.42'
    made_by.touch()
    (tmp_path/'.venv'/'pyvenv.cfg').write_text(f'home = {tmp_path}\nversion = 3.42.1\n')   # as Python 3.10 writes it
    assert dry('exercises').startswith(f'{made_by} tools/exercises.py')
    (tmp_path/'.venv'/'pyvenv.cfg').write_text(f'home = {tmp_path}\nversion = 3.42.1\nexecutable = {tmp_path}/gone\n')
    assert dry('exercises').startswith('python3 tools/exercises.py')             # a Python no longer there: python3
    assert dry('exercises', 'PYTHON=python3.12').startswith('python3.12 tools/exercises.py')
