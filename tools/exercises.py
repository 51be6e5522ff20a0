"""`make exercises`: your copy of every notebook with exercises, each solution replaced by a stub.

    python tools/exercises.py [--out exercises] [--force]

In nbs/ each exercise's solution sits between nbgrader's marker lines, inside a function:

    def distances(x):
        ### BEGIN SOLUTION
        return ...
        ### END SOLUTION

A learner's copy replaces each marked region by a stub at the markers' indentation,

    def distances(x):
        # YOUR CODE HERE
        raise NotImplementedError()

so that the exercise's check says "not attempted yet" and Run All goes on; its outputs are cleared. A copy already
in `exercises/` is kept, since it may hold your answers: delete it (or pass --force) for a fresh one. Each copy is
written beside its final name, then renamed, so none is ever half-written.
"""
import argparse, json, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = '### BEGIN SOLUTION', '### END SOLUTION'
STUB = ['# YOUR CODE HERE', 'raise NotImplementedError()']


def _indent(line): return line[:len(line) - len(line.lstrip())]


def stub_out(src, where='cell'):
    """`src` with each solution region replaced by a stub, and how many regions it had. A `ValueError` naming `where`
    and the line: a marker without its pair, or a region at the top level of the cell (its stub would stop Run All)."""
    out, start = [], None
    for n,line in enumerate(src.splitlines(keepends=True), 1):
        mark = line.strip()
        if mark == BEGIN:
            if start is not None: raise ValueError(f"{where}, line {n}: {BEGIN!r} inside the region opened on line {start}")
            if not _indent(line):
                raise ValueError(f"{where}, line {n}: a solution at the top level of a cell; put it inside a function "
                                 "(its stub raises NotImplementedError, which would stop Run All there)")
            start, pad = n, _indent(line)
            out += [pad + s + '\n' for s in STUB]
        elif mark == END:
            if start is None: raise ValueError(f"{where}, line {n}: {END!r} without a {BEGIN!r} before it")
            start = None
        elif start is None: out.append(line)
    if start is not None: raise ValueError(f"{where}, line {start}: {BEGIN!r} without an {END!r} after it")
    regions = sum(l.strip() == BEGIN for l in src.splitlines())
    return ''.join(out).rstrip('\n') if regions else src, regions


def learner_copy(nb, name='notebook'):
    "The notebook `nb` (its JSON as a dict) with its solutions stubbed out and every output cleared; and how many stubs."
    nb, stubs = json.loads(json.dumps(nb)), 0
    for n,cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code': continue
        src, k = stub_out(''.join(cell['source']), f"{name}: cell {n}")
        cell['source'], stubs = src.splitlines(keepends=True), stubs + k
        cell['outputs'], cell['execution_count'] = [], None
    return nb, stubs


def problems(nbs):
    "Misplaced solution markers in the notebooks `nbs`, one line each."
    found = []
    for path in nbs:
        try: learner_copy(json.loads(Path(path).read_text(encoding='utf-8')), Path(path).name)
        except ValueError as e: found.append(str(e))
        except json.JSONDecodeError: pass   # the export gate names notebooks that are not JSON
    return found


def write_copies(nbs, out, force=False):
    "Write the learner's copy of each notebook of `nbs` that has exercises into the folder `out`; what was done, one line each."
    copies = {}
    for path in nbs:   # every notebook is checked before anything is written
        nb, stubs = learner_copy(json.loads(Path(path).read_text(encoding='utf-8')), Path(path).name)
        if stubs: copies[Path(path).name] = (nb, stubs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for name,(nb,stubs) in copies.items():
        dest = out/name
        if dest.exists() and not force:
            done.append(f"kept {dest} (it may hold your answers; delete it, or pass --force, for a fresh copy)")
            continue
        part = dest.with_name(f'.{name}.part')
        part.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        os.replace(part, dest)
        done.append(f"wrote {dest}: {stubs} stub(s) to fill in")
    return done


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=ROOT/'exercises', type=Path, help='where the copies go (default: exercises/)')
    ap.add_argument('--force', action='store_true', help='overwrite copies already there (your answers in them are lost)')
    args = ap.parse_args()
    try: lines = write_copies(sorted((ROOT/'nbs').glob('[0-9]*.ipynb')), args.out, args.force)
    except ValueError as e: sys.exit(f"make exercises: {e}")
    print('\n'.join(lines or ['no notebook has exercises yet']))
