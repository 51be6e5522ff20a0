"""A quick check of a learner's install, in seconds (`make check`): each line says what was checked, and the
first problem found ends the check with what to do about it.

    python tools/check.py
"""
import importlib, json, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checks():
    "The checks, in order: (what is checked, a function returning a short finding, what to do if it fails)."
    def python():
        if sys.version_info < (3, 10): raise RuntimeError(f"Python {sys.version.split()[0]} is too old")
        return f"Python {sys.version.split()[0]} in {sys.prefix}"
    def package():
        exp = importlib.import_module('exp')
        if not Path(exp.__file__).resolve().is_relative_to(ROOT): raise RuntimeError(f"`exp` comes from {exp.__file__}, not this folder")
        import torch
        return f"exp {exp.__version__} from this folder, torch {torch.__version__}"
    def data():
        from exp.nb_00 import fetch_mnist, read_idx
        d = fetch_mnist()
        return f"MNIST verified in {d} ({len(read_idx(d/'t10k-labels-idx1-ubyte')):,} test labels read)"
    def kernel():
        import jupyterlab
        out = subprocess.run([sys.executable, '-m', 'jupyter', 'kernelspec', 'list', '--json'], capture_output=True, text=True, timeout=60)
        specs = json.loads(out.stdout or '{}').get('kernelspecs', {})
        if 'python3' not in specs: raise RuntimeError("no python3 kernel is registered")
        runs = specs['python3']['spec']['argv'][0]       # the Python the notebooks' kernel starts
        if runs not in ('python', 'python3') and Path(runs).parent.absolute() != Path(sys.executable).parent.absolute():   # this environment's bin/
            raise RuntimeError(f"the notebooks' kernel would run {runs}, not this environment's Python ({sys.executable})")
        return f"JupyterLab {jupyterlab.__version__}; kernel 'python3' runs this environment's Python"
    def a_cell():
        from exp.nb_01 import matmul_loops, test_near
        import torch
        a,b = torch.randn(3, 4),torch.randn(4, 2)
        test_near(matmul_loops(a, b), a @ b)
        return "a lesson's code runs: matmul_loops agrees with a @ b"
    return [('Python', python, "install Python 3.10 or newer, then `make clean lab PYTHON=python3.12` (naming yours)"),
            ('the course package', package, "run `make install` in this folder"),
            ('the data', data, "check the network or npm, then `make data` (see 'The data' in the README)"),
            ('JupyterLab', kernel, "run `make clean lab`"),
            ('a lesson', a_cell, "run `make install`; if it still fails, report it with this message")]


def main():
    start = time.perf_counter()
    for what,check,fix in checks():
        try: found = check()
        except Exception as e:
            print(f"✗ {what}: {type(e).__name__}: {e}\n  what to do: {fix}")
            return 1
        print(f"✓ {what}: {found}")
    print(f"all good ({time.perf_counter() - start:.1f} s): `make lab` opens the course")
    return 0


if __name__ == '__main__': sys.exit(main())
