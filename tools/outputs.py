"""`make outputs`: re-run notebooks and save their outputs, cleaned, never leaving a notebook half-written.

    python tools/outputs.py NOTEBOOK...

Each notebook runs top to bottom in a fresh kernel, in its own folder (as `jupyter nbconvert --execute` runs it), into
a copy beside it, `.NAME.part.ipynb`, which `nbdev_clean` then cleans. Only when every notebook named has run are the
copies renamed over the notebooks, one by one; a notebook that fails, or a stop (Ctrl-C), leaves every notebook as it
was, and no copy behind.
"""
import os, signal, sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

import gates


def part_of(nb):
    "Where the run of the notebook `nb` is written until every notebook has run."
    return nb.with_name(f'.{nb.stem}.part.ipynb')


def run(nb):
    "Run the notebook `nb` top to bottom and write it, cleaned, to `part_of(nb)`."
    node = nbformat.read(nb, as_version=4)
    ExecutePreprocessor(timeout=None).preprocess(node, {'metadata': {'path': str(nb.parent)}})
    nbformat.write(node, part_of(nb))
    gates._run([gates.BIN/'nbdev_clean', '--fname', part_of(nb)], gates.ROOT)


def outputs(paths):
    "Re-run the notebooks `paths` and save them; `SystemExit` naming what stopped it, with every notebook as it was."
    if not paths:
        raise SystemExit("make outputs: no notebook to run (without a GPU, 01c_gpu is left out of NBS; "
                         "name it alone, NB=nbs/01c_gpu.ipynb, to run it anyway)")
    if bad := [str(p) for p in paths if not (p.is_file() and p.suffix == '.ipynb')]:
        raise SystemExit(f"make outputs: not a notebook: {', '.join(bad)}")
    paths = list(dict.fromkeys(p.resolve() for p in paths))        # a notebook named twice runs once
    try:
        for i,nb in enumerate(paths, 1):
            print(f"[{i}/{len(paths)}] running {nb}", flush=True)
            try: run(nb)
            except CellExecutionError as e:
                raise SystemExit(f"make outputs: {nb} failed, so no notebook was changed:\n{str(e)[-3000:]}") from None
        for nb in paths: os.replace(part_of(nb), nb)
    finally:
        for nb in paths: part_of(nb).unlink(missing_ok=True)
    print(f"make outputs: saved the outputs of {len(paths)} notebook{'s' * (len(paths) != 1)}")


if __name__ == '__main__':
    if any(a.startswith('-') for a in sys.argv[1:]): raise SystemExit(__doc__)
    for sig in (signal.SIGTERM, signal.SIGHUP): signal.signal(sig, lambda s, frame: sys.exit(128 + s))   # a kill cleans up too
    outputs([Path(a) for a in sys.argv[1:]])
