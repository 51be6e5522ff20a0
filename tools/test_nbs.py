"""Run notebooks top to bottom, each in a process of its own (as a learner runs each in a fresh kernel), a few at a
time: what `make test-nbs` runs, under `tools/busy.py`.

    python tools/test_nbs.py --workers 2 nbs/01_matmul.ipynb exercises/    # notebooks, or folders of them

A path that is neither a notebook nor a folder with notebooks in it is an error, not a run of nothing. The exit
status is 1 when any notebook failed (each failure is printed by nbdev_test; the last line names them all).
"""
import argparse, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def notebooks(paths):
    "The notebooks `paths` name, a folder standing for the notebooks in it (not those whose names start with _ or .)."
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += (inside := sorted(q for q in p.glob('*.ipynb') if not q.name.startswith(('_', '.'))))
            if not inside: raise SystemExit(f"test_nbs.py: no notebooks in {p}")
        elif p.is_file() and p.suffix == '.ipynb': found.append(p)
        else: raise SystemExit(f"test_nbs.py: {p} is neither a notebook nor a folder of notebooks")
    if not found: raise SystemExit("test_nbs.py: no notebooks named")
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run notebooks top to bottom, each in a process of its own.")
    ap.add_argument('--workers', type=int, default=2, help='notebooks run at once (0 or 1: one after the other)')
    ap.add_argument('paths', nargs='+', help='notebooks, or folders of them')
    args = ap.parse_args(argv)
    nbs = notebooks(args.paths)
    nbdev_test = Path(sys.executable).parent/'nbdev_test'
    def run(nb): return subprocess.run([str(nbdev_test), '--do_print', '--path', str(nb)]).returncode
    with ThreadPoolExecutor(max(1, args.workers)) as pool: codes = list(pool.map(run, nbs))
    failed = [str(nb) for nb,code in zip(nbs, codes) if code]
    print(f"test_nbs.py: {len(nbs) - len(failed)} of {len(nbs)} notebooks ran top to bottom" + (f"; failed: {', '.join(failed)}" if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
