"""Build the course website from the notebooks, offline (what `make docs` runs).

    python tools/docs.py                 # into `doc_path` of settings.ini (_docs/)
    python tools/docs.py --out /tmp/site # elsewhere

1. nbdev's own processors prepare every notebook in nbs/ as `nbdev_docs` would: `#|hide` cells are dropped,
   the title becomes front matter, a `show_doc` is added and run for each exported name, names in backticks
   link to their documentation. One change: a course shows the code it exports, so `#|export` cells are
   treated as `#|exports` (nbdev's directive for "export, and show the code under the `show_doc`").
2. `for_myst` turns what nbdev leaves for Quarto into what myst-nb reads: the front matter into a title,
   Quarto's `#| echo: false`-style cell options into myst-nb cell tags, links to the published site into
   links between pages.
3. Sphinx (myst-nb, sphinx-book-theme, MathJax served locally) renders them with docs/*.md: the home page
   with the course outline, one page per notebook in numbered order, and the API reference of `exp`.
"""
import argparse, os, re, shutil, sys, time, warnings
from contextlib import contextmanager
from pathlib import Path

import yaml
from execnb.nbio import read_nb, write_nb
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from nbdev.processors import FilterDefaults

ROOT = Path(__file__).resolve().parents[1]
QUARTO_TAGS = {('echo', 'false'): 'remove-input', ('output', 'false'): 'remove-output',
               ('include', 'false'): 'remove-cell', ('code-fold', 'true'): 'hide-input'}
HINT = ("To render `show_doc`, nbdev runs the exported cells and every cell with an import, and nothing else. "
        "A cell that mixes an import with code using earlier results fails there: put the import in a cell of its own.")
_export = re.compile(r'^#\|[ \t]*export[ \t]*$', re.M)
_option = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')


@contextmanager
def _cwd(path):
    old = Path.cwd()
    os.chdir(path)
    try: yield
    finally: os.chdir(old)


def show_exported_code(nb):
    "A course shows the code it exports: `#|export` cells become `#|exports` (nbdev shows their code under the `show_doc`)."
    for cell in (c for c in nb.cells if c.cell_type == 'code'):
        lines = cell.source.splitlines(keepends=True)
        for i,line in enumerate(lines):
            if not line.startswith('#'): break   # directives come first in a cell
            lines[i] = _export.sub('#|exports', line)
        cell.source = ''.join(lines)
    return nb


def nbdev_page(path):
    "The page nbdev names after a notebook, the number dropped: `nbs/00_exports.ipynb` -> `exports`."
    return _nbpath2html(Path(path)).stem


def documented(nb):
    "The anchors of the names `show_doc` documents in the processed notebook `nb`."
    return {h.lower() for c in nb.cells for o in c.get('outputs', [])
            for h in re.findall(r'^#+ (\S+)$', ''.join(o.get('data', {}).get('text/markdown', '')), re.M)}


def for_myst(nb, pages, site_url, anchors):
    """Adapt a notebook processed by nbdev for myst-nb. `pages` maps nbdev's page names to ours (`exports` ->
    `00_exports`), `anchors` gives the names documented on each page: a link to an undocumented method goes to its class."""
    fm = yaml.safe_load(nb.cells[0].source.strip().strip('-')) if nb.cells and nb.cells[0].cell_type == 'raw' else None
    if isinstance(fm, dict) and 'title' in fm:   # nbdev turned `# title` and `> summary` into front matter
        nb.cells[0].cell_type, nb.cells[0].source = 'markdown', f"# {fm['title']}\n\n{fm.get('description', '')}".strip()
    link = re.compile(re.escape(site_url) + r'([\w.-]+)\.html(?:#([\w.-]+))?')
    def local(m):
        page, anchor = pages.get(m.group(1), m.group(1)), m.group(2)
        if anchor and anchor not in anchors.get(page, ()): anchor = anchor.split('.')[0]
        return page + '.ipynb' + (f'#{anchor}' if anchor else '')
    relink = lambda s: link.sub(local, s)
    for cell in nb.cells:
        cell.source = relink(cell.source)
        if cell.cell_type != 'code': continue
        lines = cell.source.splitlines()
        opts = [m.groups() for l in lines if (m := _option.match(l))]
        if opts:
            cell.source = '\n'.join(l for l in lines if not _option.match(l))
            if tags := [QUARTO_TAGS[k, v.lower()] for k,v in opts if (k, v.lower()) in QUARTO_TAGS]:
                cell.metadata['tags'] = cell.metadata.get('tags', []) + tags
        for out in cell.get('outputs', []):
            md = out.get('data', {}).get('text/markdown')
            if md is None: continue
            md = relink(''.join(md))
            if md.startswith('---'): md = md[3:]   # show_doc's leading rule: docutils forbids a leading transition
            out['data']['text/markdown'] = md
    return nb


def prepare(src, dest):
    "Write every notebook of `src` (nbdev-processed, then adapted for myst-nb) and docs/*.md into `dest`."
    cfg = get_config()
    src, dest = Path(src).resolve(), Path(dest).resolve()
    nbs = sorted(src.glob('[0-9]*.ipynb'))
    pages = {nbdev_page(nb): nb.stem for nb in nbs}
    site_url = cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/'
    dest.mkdir(parents=True, exist_ok=True)
    os.environ['IN_TEST'] = '1'    # what nbdev sets while it processes notebooks
    with _cwd(src), warnings.catch_warnings():
        warnings.simplefilter('ignore')   # nbdev's advice about cells mixing imports and code
        processed = {path.stem: show_exported_code(read_nb(path)) for path in nbs}
        for stem,nb in processed.items():
            try: FilterDefaults()(nb)
            except Exception as e:
                raise RuntimeError(f"nbs/{stem}.ipynb: {e}\n{HINT}") from e
    anchors = {stem: documented(nb) for stem,nb in processed.items()}
    # files are only rewritten when they change, so that Sphinx re-reads only those
    for stem,nb in processed.items(): write_nb(for_myst(nb, pages, site_url, anchors), dest/f'{stem}.ipynb')
    for old in set(dest.glob('*.ipynb')) - {dest/f'{stem}.ipynb' for stem in processed}: old.unlink()
    for f in [*(ROOT/'docs').glob('*.md'), ROOT/'README.md']:
        if not (dest/f.name).exists() or (dest/f.name).read_bytes() != f.read_bytes(): shutil.copy(f, dest)
    return nbs


def build(out=None, work=None, quiet=False):
    """Build the site into `out` (default: `doc_path`); `work` keeps the Sphinx source and cache between builds,
    and Sphinx's warnings in `warnings.txt`."""
    cfg = get_config()
    out = Path(out or cfg.doc_path)
    work = Path(work or cfg.config_path/'_proc'/'docs')
    start = time.perf_counter()
    nbs = prepare(cfg.nbs_path, work/'src')
    prepared = time.perf_counter()
    try: from sphinx.cmd.build import build_main
    except ImportError: raise RuntimeError("the website needs Sphinx, myst-nb and sphinx-book-theme: the dev tools "
                                           "install them (`dev_requirements` in settings.ini; Python 3.11+)") from None
    args = ['-b', 'html', '-c', str(ROOT/'docs'), '-d', str(work/'doctrees'), '-w', str(work/'warnings.txt')]
    # myst-nb writes images next to the output folder, so build in `work` and copy the site over
    rc = build_main(args + (['-q'] if quiet else []) + [str(work/'src'), str(work/'html')])
    if rc: raise RuntimeError(f"sphinx-build failed (exit status {rc})")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work/'html', out)
    end = time.perf_counter()
    print(f"Built {len(nbs)} notebook pages into {out}/ in {end-start:.0f} s "
          f"(nbdev processing {prepared-start:.0f} s, Sphinx {end-prepared:.0f} s). Home page: {out/'index.html'}")
    return out


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', help='output folder (default: doc_path in settings.ini)')
    p.add_argument('--verbose', action='store_true', help="show Sphinx's progress, not only its warnings")
    args = p.parse_args()
    if args.out: args.out = Path(args.out).resolve()
    os.chdir(ROOT)   # nbdev and Sphinx find settings.ini from the current folder
    try: build(args.out, quiet=not args.verbose)
    except RuntimeError as e: sys.exit(f"docs: {e}")
