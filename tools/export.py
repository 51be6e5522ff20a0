"""`make export`: write exp/ from the notebooks and clean the notebooks, never leaving exp/ broken.

    python tools/export.py [--root DIR]

It copies the notebooks into a scratch folder, checks them there (`gates.export_problems`: valid JSON, exported
cells that parse, one notebook per module) and runs `nbdev_export` on the copy. Only if all that worked does it
update exp/, file by file: each changed file is written beside the old one, then renamed over it (so an
interruption leaves every file old or new, never half-written), and files no notebook makes any more are removed.
Then `nbdev_clean` cleans the notebooks.
"""
import filecmp, os, shutil, sys, tempfile
from pathlib import Path

import gates


def _files(folder):
    return {p.relative_to(folder) for p in Path(folder).rglob('*') if p.is_file() and '__pycache__' not in p.parts}


def update_tree(new, old):
    "Make the folder `old` hold exactly the files of `new`, renaming each changed file into place; what changed."
    new, old = Path(new), Path(old)
    changed = []
    for f in sorted(_files(new)):
        if (old/f).is_file() and filecmp.cmp(new/f, old/f, shallow=False): continue
        (old/f).parent.mkdir(parents=True, exist_ok=True)
        part = (old/f).with_name(f'.{f.name}.part')
        shutil.copyfile(new/f, part)
        os.replace(part, old/f)
        changed.append(f'wrote {f}')
    for f in sorted(_files(old) - _files(new)):
        (old/f).unlink()
        changed.append(f'removed {f}')
    return changed


def export(root=gates.ROOT):
    "Export the notebooks of `root` into its package, then clean them: the problems that stopped it, [] when done."
    lib = gates._config(root)['lib_path']
    with tempfile.TemporaryDirectory() as tmp:
        if problems := gates.export_copy(root, tmp): return problems
        changed = update_tree(Path(tmp)/lib, Path(root)/lib)
    print(f"{lib}/: {'; '.join(changed) if changed else 'unchanged'}")
    gates._run([gates.BIN/'nbdev_clean'], root)
    return []


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='Check the notebooks, export them into exp/ and clean them.')
    ap.add_argument('--root', default=gates.ROOT, type=Path, help='the project folder')
    if problems := export(ap.parse_args().root):
        sys.exit('\n  '.join([f'make export: {len(problems)} problem(s), nothing written:', *problems]))
