"""`make exercises`: your copy of every notebook with exercises, each solution replaced by a stub.

    python tools/exercises.py [--out exercises] [--force]

In nbs/ each exercise's solution sits between nbgrader's marker lines, inside a function (or a method):

    def sq_distances(x):
        ### BEGIN SOLUTION
        return ...
        ### END SOLUTION

A learner's copy replaces each marked region by a stub at the markers' indentation,

    def sq_distances(x):
        # YOUR CODE HERE
        raise NotImplementedError()

so that the exercise's check says "not attempted yet" and Run All goes on; its outputs are cleared, and the cell of
checks is folded. A copy already in `exercises/` is kept, since it may hold your answers (it is named when the lesson
has exercises it lacks): rename or delete it for a fresh one (--force replaces them all). Each copy is written
beside its final name, then renamed, so none is ever half-written.
"""
import argparse, hashlib, json, os, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = '### BEGIN SOLUTION', '### END SOLUTION'
STUB = ['# YOUR CODE HERE', 'raise NotImplementedError()']
FOLDED = '#| code-fold: true'   # the first line of a cell the website folds: each lesson's checks


def _indent(line): return line[:len(line) - len(line.lstrip())]


def _in_function(lines, n):
    "Is line `n` (0-based) of `lines` inside the body of a `def`, so that its stub only raises when the function is called?"
    width = len(_indent(lines[n]))
    for line in reversed(lines[:n]):
        code = line.strip()
        if not code or code.startswith(('#', '@')) or len(_indent(line)) >= width: continue
        if code.startswith(('def ', 'async def ')): return True
        width = len(_indent(line))   # an enclosing block of another kind (class, if, for, with): look further out
        if not width: return False
    return False


def stub_out(src, where='cell'):
    """`src` with each solution region replaced by a stub, and how many regions it had. A `ValueError` naming `where`
    and the line: a marker without its pair, a marker misspelt, or a region outside a function's body (its stub
    would raise as the cell runs, and stop Run All there)."""
    out, start, lines = [], None, src.splitlines(keepends=True)
    for n,line in enumerate(lines, 1):
        mark = line.strip()
        if mark not in (BEGIN, END) and re.search(r'\b(BEGIN|END) SOLUTION\b', line):
            raise ValueError(f"{where}, line {n}: {mark!r} is not a marker: write {BEGIN!r} or {END!r} exactly, alone on "
                             "its line (else the answer would stay in the learner's copy)")
        if mark == BEGIN:
            if start is not None: raise ValueError(f"{where}, line {n}: {BEGIN!r} inside the region opened on line {start}")
            if not _in_function(lines, n - 1):
                raise ValueError(f"{where}, line {n}: a solution outside a function's body; put it inside a function or "
                                 "a method (its stub raises NotImplementedError, which would stop Run All there)")
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
    for n,cell in enumerate(nb['cells'], 1):
        if cell['cell_type'] != 'code': continue
        src, k = stub_out(''.join(cell['source']), f"{name}: cell {n}")
        cell['source'], stubs = src.splitlines(keepends=True), stubs + k
        cell['outputs'], cell['execution_count'] = [], None
        if src.startswith(FOLDED):   # the checks: folded in JupyterLab too, as on the website
            cell['metadata'] = {**cell['metadata'], 'jupyter': {'source_hidden': True}}
    nb['metadata'] = {**nb.get('metadata', {}), 'dl_foundations': {'lesson': lesson_version(nb)}}
    return nb, stubs


def lesson_version(nb):
    "A fingerprint of the text of every cell of the copy `nb`: it changes when the lesson's text or its checks do."
    return hashlib.sha256(json.dumps([c['source'] for c in nb['cells']]).encode()).hexdigest()[:16]


def checked(nb):
    "The names of the exercises the notebook `nb` (its JSON as a dict) checks: `ex2` for a line `ex2.check(...)`."
    return {m.group(1) for c in nb['cells'] if c['cell_type'] == 'code'
            for m in re.finditer(r'^(\w+)\.check\(', ''.join(c['source']), re.M)}


def problems(nbs):
    "Misplaced solution markers in the notebooks `nbs`, one line each."
    found = []
    for path in nbs:
        try: learner_copy(_load(path), Path(path).name)
        except NotJSON: pass                 # the export gate names notebooks that are not JSON
        except ValueError as e: found.append(str(e))
    return found


class NotJSON(ValueError): "A notebook file that is not JSON."

def _load(path):
    "The notebook at `path` as a dict; `ValueError` naming it if it is not a notebook's JSON (`NotJSON` if not JSON at all)."
    try: nb = json.loads(Path(path).read_text(encoding='utf-8'))
    except ValueError as e: raise NotJSON(f"{Path(path).name} is not valid JSON ({e})") from None
    if not (isinstance(nb, dict) and isinstance(nb.get('cells'), list) and all(isinstance(c, dict) and {'cell_type', 'source'} <= c.keys() for c in nb['cells'])):
        raise ValueError(f"{Path(path).name} is not a notebook: no list of cells, each with its type and source")
    return nb


def write_copies(nbs, out, force=False):
    "Write the learner's copy of each notebook of `nbs` that has exercises into the folder `out`; what was done, one line each."
    copies = {}
    for path in nbs:   # every notebook is checked before anything is written
        nb, stubs = learner_copy(_load(path), Path(path).name)
        if stubs: copies[Path(path).name] = (nb, stubs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done, kept = [], []
    for name,(nb,stubs) in copies.items():
        dest = out/name
        if dest.exists() and not force:
            kept.append(name)
            try: theirs = json.loads(dest.read_text(encoding='utf-8')); missing = sorted(checked(nb) - checked(theirs))
            except (ValueError, KeyError, TypeError, AttributeError): continue    # not a notebook any more: leave it be
            made_from = (theirs.get('metadata') or {}).get('dl_foundations', {}).get('lesson')
            if missing: done.append(f"{dest} lacks the lesson's newer exercises {', '.join(missing)}: copy them from a "
                                    f"fresh copy (rename yours, then make exercises)")
            elif made_from is None:
                done.append(f"{dest} was made before copies recorded their lesson's version: to be sure it has the lesson's "
                            f"latest text and checks, rename it, run make exercises, and compare")
            elif made_from != nb['metadata']['dl_foundations']['lesson']:
                done.append(f"{dest} was made from an earlier version of the lesson (its text or its checks changed since): "
                            f"for the new one, rename yours, run make exercises, and copy your answers across")
            continue
        part = dest.with_name(f'.{name}.part')
        part.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        os.replace(part, dest)
        done.append(f"wrote {dest}: {stubs} stub(s) to fill in")
    if kept: done.append(f"kept {len(kept)} cop{'y' if len(kept) == 1 else 'ies'} already in {out}/, which may hold your "
                         "answers: to refresh one, rename or delete it and run make exercises again")
    return done


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=ROOT/'exercises', type=Path, help='where the copies go (default: exercises/)')
    ap.add_argument('--force', action='store_true', help='overwrite copies already there (your answers in them are lost)')
    args = ap.parse_args()
    try: lines = write_copies(sorted((ROOT/'nbs').glob('[0-9]*.ipynb')), args.out, args.force)
    except ValueError as e: sys.exit(f"make exercises: {e}")
    print('\n'.join(lines or ['no notebook has exercises yet']))
