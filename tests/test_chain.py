"""The one-line import chain: `from exp.nb_XX import *` brings everything the notebooks before XX on its path built
(01b, 01c and 02b are side branches: each module passes on its predecessor's names, and so those of the chain before it)."""
import json, re, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXP = ROOT/'exp'


def modules():
    "Exported modules in course order (the order of the notebooks they come from)."
    nb_of = {}
    for py in EXP.glob('*.py'):
        if m := re.search(r'File to edit: \.\./nbs/(\S+)\.ipynb', py.read_text()): nb_of[py.stem] = m.group(1)
    return sorted(nb_of, key=nb_of.get)


def star_names(mod):
    "The names `from exp.<mod> import *` defines, in a fresh Python started outside the repo."
    code = f"from exp.{mod} import *; import json; print(json.dumps(sorted(k for k in dir() if not k.startswith('_'))))"
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd='/', timeout=300)
    assert res.returncode == 0, res.stderr
    return set(json.loads(res.stdout.splitlines()[-1]))


def predecessor(mod):
    "The module whose names `mod` passes on (from its first `from .nb_XX import *`)."
    m = re.search(r'^from \.(\w+) import \*', (EXP/f'{mod}.py').read_text(), re.M)
    return m and m.group(1)


def test_modules_found():
    assert modules()[0] == 'nb_00'


def test_nb00_brings_helpers_and_libraries():
    names = star_names('nb_00')
    assert {'test_eq', 'test_near', 'test_fail', 'load_mnist', 'torch', 'tensor', 'plt', 'np', 'math', 'Path'} <= names


@pytest.mark.parametrize('mod', [m for m in modules() if m != 'nb_00'])
def test_each_module_passes_on_everything_before_it(mod):
    prev = predecessor(mod)
    assert prev, f"exp/{mod}.py does not start the chain with `from exp.nb_XX import *`"
    order = modules()
    assert order.index(prev) < order.index(mod), f"{mod} imports from the later module {prev}"
    import importlib
    m, p = importlib.import_module(f'exp.{mod}'), importlib.import_module(f'exp.{prev}')
    assert set(p.__all__) <= set(m.__all__), f"{mod}.__all__ drops {set(p.__all__) - set(m.__all__)}"
    assert set(p.__all__) | set(m.__all__) <= star_names(mod)


@pytest.mark.parametrize('mod', modules())
def test_modules_import_only_from_earlier_ones(mod):
    order = modules()
    for used in re.findall(r'^\s*from \.(\w+) import', (EXP/f'{mod}.py').read_text(), re.M):
        assert order.index(used) < order.index(mod), f"exp/{mod}.py imports from the later module {used}"
