"""The checks `make test` runs besides the notebooks and pytest.

    python tools/gates.py lint      # directives nbdev 2 would ignore, exported cells that are not Python,
                                    # two notebooks writing one module, notebooks that are not valid JSON,
                                    # exercise solutions whose markers `make exercises` cannot use
    python tools/gates.py exports   # exp/ is exactly what nbdev_export makes from nbs/
    python tools/gates.py clean     # notebooks are as nbdev_clean leaves them
    python tools/gates.py outputs   # no saved output is an error or stderr noise
    python tools/gates.py           # all four (--root DIR for another copy of the project)

Each gate is a function returning a list of problems (empty when all is well), so tests can run it
on a deliberately broken copy of the project.
"""
import ast, configparser, filecmp, json, os, re, shutil, subprocess, sys, tempfile
from collections import defaultdict
from pathlib import Path

from fastcore.basics import AttrDict
from nbdev.process import extract_directives

import exercises

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Bare-word directives nbdev 2 acts on; Quarto options (`#| key: value`) are accepted as they are.
NBDEV_DIRECTIVES = {'default_exp', 'export', 'exports', 'exporti', 'hide', 'hide_line', 'exec_doc',
                    'filter_stream', 'default_cls_lvl', 'eval:'}
_legacy = re.compile(r'^\s*#(?:\s*(exports?|exporti|hide|hide_input|hide_output|collapse\w*|exec_doc|notest|slow)\s*|'
                     r'\s*(default_exp)\s+([\w.]+)\s*|(exports?|exporti)\s+([\w.]+)\s*)$', re.I)
# nbdev 1's directives: a word alone, `default_exp` and a module, or `#export core` (no space after the #: `# export
# weights` is prose)
_pipe = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*(:)?')
EXPORT_DIRECTIVES = {'export', 'exports', 'exporti'}


def _config(root):
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(Path(root)/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']


def _notebooks(root):
    "The notebooks of `root`, less those named `_NAME` or `.NAME` (drafts, and the copies `make outputs` writes while it runs)."
    return sorted(p for p in (Path(root)/_config(root)['nbs_path']).glob('*.ipynb') if not p.name.startswith(('_', '.')))


def _directive_lines(src):
    "The comment lines at the top of a cell, where nbdev looks for directives."
    for i,line in enumerate(src.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith('#'): return
        yield i,line


def _read(root):
    "The notebooks of `root` as (path, cells), and a problem naming each one that is not notebook JSON."
    nbs, problems = [], []
    for nb in _notebooks(root):
        try: nbs.append((nb, json.loads(nb.read_text(encoding='utf-8'))['cells']))
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"{nb.relative_to(root)} is not a valid notebook ({type(e).__name__}: {e}): "
                            "fix its JSON or restore it with git")
    return nbs, problems


def _code_cells(nbs):
    "(notebook, cell number, source) for each code cell."
    for nb,cells in nbs:
        for n,cell in enumerate(cells, 1):
            if cell.get('cell_type') == 'code': yield nb, n, ''.join(cell.get('source', ''))


def _directive_problems(nbs, known):
    "Lines meant as nbdev directives that nbdev 2 would ignore: `#export`, `# exports`, `#|exprot`, ..."
    problems = []
    for nb,n,src in _code_cells(nbs):
        for i,line in _directive_lines(src):
            where = f"{nb.name}: cell {n}, line {i}: {line.strip()!r}"
            if m := _legacy.match(line):
                word,module = (m[1] or m[2] or m[4]).lower(),m[3] or m[5]
                problems.append(f"{where}: nbdev 2 ignores this; write '#|{word}{' ' + module if module else ''}'")
            elif (m := _pipe.match(line)) and not m.group(2) and m.group(1) not in known:
                problems.append(f"{where}: unknown directive {m.group(1)!r} (known: {', '.join(sorted(known))})")
    return problems


def _export_problems(nbs, lib):
    "Exported cells that are not Python, and modules that two notebooks' `#|default_exp` would both write."
    problems, module = [], {}
    for nb,n,src in _code_cells(nbs):
        directives = extract_directives(AttrDict(source=src), remove=False)   # exactly as nbdev reads them
        if directives.get('default_exp'): module[nb.name] = directives['default_exp'][0]
        if EXPORT_DIRECTIVES & directives.keys():
            try: ast.parse(src)
            except SyntaxError as e:
                problems.append(f"{nb.name}: cell {n}, line {e.lineno}: {e.msg} in an exported cell "
                                f"({(e.text or '').strip()!r}): fix it, then `make export`")
    writers = defaultdict(list)
    for name,mod in module.items(): writers[mod].append(name)
    problems += [f"{' and '.join(names)} share `#|default_exp {mod}`, so each export overwrites "
                 f"{lib}/{mod.replace('.', '/')}.py: give each notebook its own module"
                 for mod,names in writers.items() if len(names) > 1]
    return problems


def export_problems(root=ROOT):
    "What stops `make export`: notebooks that are not JSON, exported cells that are not Python, two notebooks per module."
    nbs, problems = _read(root)
    return problems + _export_problems(nbs, _config(root)['lib_path'])


def lint(root=ROOT):
    "What nbdev would ignore or choke on (`export_problems`, directives nbdev 2 would silently ignore), and misplaced solution markers."
    nbs, problems = _read(root)
    known = NBDEV_DIRECTIVES | set(_config(root).get('tst_flags', '').split())
    return (problems + _export_problems(nbs, _config(root)['lib_path']) + _directive_problems(nbs, known)
            + exercises.problems(_notebooks(root)))


def _copy_project(root, dest):
    "Copy what nbdev needs (settings and notebooks, not the package) from `root` into `dest`."
    shutil.copy(Path(root)/'settings.ini', dest)
    nbs = _config(root)['nbs_path']
    shutil.copytree(Path(root)/nbs, Path(dest)/nbs, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))


def _tree_diff(a, b):
    "Files that differ between the folders `a` and `b`, or exist in only one of them."
    cmp = filecmp.dircmp(a, b, ignore=['__pycache__'])
    out = [f"only in {Path(a).name}/: {f}" for f in cmp.left_only] + [f"not in {Path(a).name}/: {f}" for f in cmp.right_only]
    out += [f"differs: {f}" for f in cmp.diff_files if not filecmp.cmp(Path(a)/f, Path(b)/f, shallow=False)]
    for sub in cmp.common_dirs: out += _tree_diff(Path(a)/sub, Path(b)/sub)
    return out


def nbdev_env():
    "The environment for running nbdev's commands: without `IN_TEST`, which makes `nbdev_export` do nothing."
    return {k: v for k,v in os.environ.items() if k != 'IN_TEST'}


def _run(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=nbdev_env())
    if res.returncode: raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{res.stdout}{res.stderr}")


def export_copy(root, tmp):
    "Copy the project `root` into the folder `tmp`, check it and export it there: the problems, [] once `tmp` holds the package."
    _copy_project(root, tmp)
    if problems := export_problems(tmp): return problems
    try: _run([BIN/'nbdev_export'], tmp)
    except RuntimeError as e: return [str(e)]
    return []


def exports(root=ROOT):
    "Differences between `exp/` and what `nbdev_export` makes from the notebooks."
    lib = _config(root)['lib_path']
    with tempfile.TemporaryDirectory() as tmp:
        if problems := export_copy(root, tmp): return problems
        return [f"{lib}/ is not what nbdev_export makes from the notebooks ({d}): run `make export`"
                for d in _tree_diff(Path(root)/lib, Path(tmp)/lib)]


def clean(root=ROOT):
    "Notebooks that `nbdev_clean` would change."
    nbs, problems = _config(root)['nbs_path'], _read(root)[1]
    with tempfile.TemporaryDirectory() as tmp:
        _copy_project(root, tmp)
        _run([BIN/'nbdev_clean'], tmp)   # it skips, with a warning, a notebook that is not JSON: `_read` names those
        return problems + [f"{nbs}/{p.name} is not clean: run `make export` (it cleans) or `nbdev_clean`"
                           for p in _notebooks(root) if p.read_bytes() != (Path(tmp)/nbs/p.name).read_bytes()]


def outputs(root=ROOT):
    "Saved outputs that are an error (a cell that failed when the notebook was run) or text written to stderr."
    nbs, problems = _read(root)
    for nb,cells in nbs:
        for n,cell in enumerate(cells, 1):
            for out in cell.get('outputs', []):
                where = f"{nb.name}: cell {n}"
                if out.get('output_type') == 'error':
                    problems.append(f"{where}: saved error output ({out.get('ename')}: {out.get('evalue', '')[:120]}): "
                                    "fix the cell, then `make outputs`")
                elif out.get('output_type') == 'stream' and out.get('name') == 'stderr':
                    text = ''.join(out.get('text', '')).strip().splitlines()
                    problems.append(f"{where}: saved stderr output ({text[0][:120] if text else ''!r}): "
                                    "silence or fix what writes it, then `make outputs`")
    return problems


GATES = {'lint': lint, 'exports': exports, 'clean': clean, 'outputs': outputs}

if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='Run the gates of `make test`.')
    ap.add_argument('gates', nargs='*', choices=[*GATES, []], help='gates to run (default: all)')
    ap.add_argument('--root', default=ROOT, type=Path, help='the project folder')
    args = ap.parse_args()
    failed = False
    for name in args.gates or list(GATES):
        problems = GATES[name](args.root)
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for p in problems: print('  ' + p)
        failed |= bool(problems)
    sys.exit(1 if failed else 0)
