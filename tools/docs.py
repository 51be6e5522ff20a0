"""Build the course website from the notebooks, offline (what `make docs` runs).

    python tools/docs.py                 # into `doc_path` of settings.ini (_docs/)
    python tools/docs.py --out /tmp/site # elsewhere

1. nbdev's own processors prepare every notebook in nbs/ as `nbdev_docs` would: `#|hide` cells are dropped,
   the title becomes front matter, a `show_doc` is added and run for each exported name, names in backticks
   link to their documentation. Changes: a course shows the code it exports, so `#|export` cells are
   treated as `#|exports` (nbdev's directive for "export, and show the code under the `show_doc`"), each with
   all its `show_doc`s above it, in the order it defines the names (`docs_above_code`); and every cell keeps the
   outputs the notebook was saved with (nbdev runs the cells with an import again, here, for `show_doc`: a page
   would show this machine's output, not that of the run it was saved from, on a GPU say).
2. `for_myst` turns what nbdev leaves for Quarto into what myst-nb reads: the front matter into a title,
   Quarto's `#| echo: false`-style cell options into myst-nb cell tags, links to the published site into
   links between pages. Exercise answers (cells with a solution region) are hidden behind a click.
   Each page also gets a link to download its notebook (the one in nbs/, shipped with the site; and the learner's
   copy, as `make exercises` writes it, when it has exercises), and show_doc's
   "source" links, which nbdev points at `git_url`, go to the module's code on the site (Sphinx's viewcode).
3. Sphinx (myst-nb, sphinx-book-theme, MathJax served locally) renders them with docs/*.md: the home page
   with the course outline, one page per notebook in numbered order, and the API reference of `exp`, whose
   landing page (docs/api.md) gets a table of the modules, each with its notebook and what it holds.
"""
import argparse, importlib, inspect, json, os, re, shutil, sys, time, warnings
from contextlib import contextmanager
from pathlib import Path

import yaml
from execnb.nbio import read_nb, write_nb
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from nbdev.processors import FilterDefaults, mv_exports

import exercises

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


class DocProcessors(FilterDefaults):
    "nbdev's processors for a page, but for `mv_exports`: `docs_above_code`, run after them, places the `show_doc`s."
    def base_procs(self): return [p for p in super().base_procs() if p is not mv_exports]


def docs_above_code(nb):
    """Each exported cell's `show_doc` cells above its code, in the order the cell defines the names. (nbdev's
    `add_show_docs` puts them after the cell, the last name first; its `mv_exports` moves only the first of them
    above, and an exported cell that defines no name, one of imports, takes the next cell's.)"""
    cells,at = [],None
    for cell in nb.cells:
        if cell.get('has_sd') and at is not None: cells.insert(at, cell)   # before its cell and the docs of the names after
        else:
            at = len(cells) if 'exports' in (cell.get('directives_') or {}) else None   # docs after another cell stay put
            cells.append(cell)
    nb.cells = cells
    return nb


def process(nb):
    "`nb` (read from nbs/) as its page shows it: nbdev's processing, the `show_doc`s above their code, every cell's saved outputs."
    saved = [(c, c.outputs) for c in nb.cells if c.cell_type == 'code']   # nbdev gives a cell it runs a new list
    DocProcessors()(nb)
    for c,outputs in saved: c.outputs = outputs
    return docs_above_code(nb)


def nbdev_page(path):
    "The page nbdev names after a notebook, the number dropped: `nbs/00_exports.ipynb` -> `exports`."
    return _nbpath2html(Path(path)).stem


def documented(nb):
    "The anchors of the names `show_doc` documents in the processed notebook `nb`."
    return {h.lower() for c in nb.cells for o in c.get('outputs', [])
            for h in re.findall(r'^#+ (\S+)$', ''.join(o.get('data', {}).get('text/markdown', '')), re.M)}


def source_link(module_path, md):
    """The link to the code of what the show_doc Markdown `md` documents, on the page Sphinx's viewcode writes for
    `module_path` (`exp/nb_01`): at the name's own block when autodoc documents it (a public function or class with
    a docstring; a method: its class), else at the top of the module."""
    href = f'_modules/{module_path}.html'
    if m := re.search(r'^#+ (\S+)$', md, re.M):
        name = m.group(1).split('.')[0]
        try: obj = getattr(importlib.import_module(module_path.replace('/', '.')), name, None)
        except ImportError: obj = None
        if (not name.startswith('_') and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__doc__
            and obj.__module__ == module_path.replace('/', '.')): href += f'#{name}'
    return f'<a class="source-link" href="{href}">source</a>'


def for_myst(nb, pages, site_url, anchors, code_url=None):
    """Adapt a notebook processed by nbdev for myst-nb. `pages` maps nbdev's page names to ours (`exports` ->
    `00_exports`), `anchors` gives the names documented on each page: a link to an undocumented method goes to its class,
    one to another undocumented name (a private helper the prose names) to its page.
    show_doc's "source" links to `code_url` (`git_url/blob/branch/`) go to the module's code on the site."""
    fm = yaml.safe_load(nb.cells[0].source.strip().strip('-')) if nb.cells and nb.cells[0].cell_type == 'raw' else None
    if isinstance(fm, dict) and 'title' in fm:   # nbdev turned `# title` and `> summary` into front matter
        nb.cells[0].cell_type, nb.cells[0].source = 'markdown', f"# {fm['title']}\n\n{fm.get('description', '')}".strip()
    link = re.compile(re.escape(site_url) + r'([\w.-]+)\.html(?:#([\w.-]+))?')
    def local(m):
        page, anchor = pages.get(m.group(1), m.group(1)), m.group(2)
        if anchor and anchor not in anchors.get(page, ()): anchor = anchor.split('.')[0]
        if anchor and anchor not in anchors.get(page, ()): anchor = None
        return page + '.ipynb' + (f'#{anchor}' if anchor else '')
    relink = lambda s: link.sub(local, s)
    for cell in nb.cells:
        cell.source = relink(cell.source)
        if cell.cell_type != 'code': continue
        if exercises.BEGIN in cell.source:   # an exercise's answer: behind a click, so a reader can try first
            cell.metadata['tags'] = cell.metadata.get('tags', []) + ['hide-input']
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
            if code_url:
                md = re.sub(r'\[source\]\(' + re.escape(code_url) + r'([\w/.-]+)\.py(?:#L\d+)?\)(?:\{[^}\n]*\})?',
                            lambda m: source_link(m.group(1), md), md)
            if md.startswith('---'): md = md[3:]   # show_doc's leading rule: docutils forbids a leading transition
            out['data']['text/markdown'] = md
    return nb


def _write(path, text):
    "Write `text` to `path` only if it differs, so that Sphinx re-reads only the files that changed."
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding='utf-8') != text: path.write_text(text, encoding='utf-8')


def download_cell(stem, exercises=False):
    """A Markdown cell that offers the notebook itself (nbs/STEM.ipynb, copied into the site) for download, and with
    `exercises` the learner's copy too (`_notebooks/exercises/STEM.ipynb`, answers replaced by stubs)."""
    from execnb.nbio import mk_cell
    text = (f"{{download}}`Download this notebook <_notebooks/{stem}.ipynb>` (`{stem}.ipynb`, with its outputs) to "
            "run it in the course's JupyterLab (`make lab`)")
    if exercises: text += (f", or {{download}}`your copy for the exercises <_notebooks/exercises/{stem}.ipynb>` "
                           "(the answers replaced by stubs, as `make exercises` writes it)")
    return mk_cell(text + '.', cell_type='markdown')


def modules(nbs, lib_name):
    "The module each notebook exports to (`#|default_exp`), with the notebook's stem, title and summary, in order."
    found = []
    for path in nbs:
        cells = json.loads(Path(path).read_text(encoding='utf-8'))['cells']
        code = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
        if not (m := re.search(r'^#\|\s*default_exp\s+(\S+)', code, re.M)): continue
        md = next((''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'), '')
        title = re.search(r'^#\s+(.+)$', md, re.M)
        summary = re.search(r'^>\s*(.+)$', md, re.M)
        found.append((f'{lib_name}.{m.group(1)}', Path(path).stem, title.group(1).strip() if title else Path(path).stem,
                      summary.group(1).strip() if summary else ''))
    return found


def api_pages(api_md, mods):
    """docs/api.md with its `{modules}` line replaced by a table of the modules (each with its notebook and what it
    holds) and a hidden table of contents of their pages; and `_api_modules.rst`, which tells autosummary to write them."""
    cell = lambda s: s.replace('|', '\\|')
    table = ['| Module | Notebook | What it holds |', '|:--|:--|:--|']
    table += [f"| {{py:mod}}`{mod}` | [{cell(title)}]({stem}.ipynb) | {cell(summary)} |" for mod,stem,title,summary in mods]
    toc = ['```{toctree}', ':hidden:', '', *(f'api/{mod}' for mod,*_ in mods), '```']
    page = re.sub(r'^\{modules\}[ \t]*$', lambda _: '\n'.join(table + [''] + toc), api_md, count=1, flags=re.M)
    stubs = '.. autosummary::\n   :toctree: api\n\n' + ''.join(f'   {mod}\n' for mod,*_ in mods)
    return page, stubs


def site_links(md):
    "Markdown links written for the repository (`nbs/01_matmul.ipynb`, `docs/api.md`) as the site's pages lie: all side by side."
    return re.sub(r'\]\((?:nbs|docs)/([^)/#]+(?:#[^)]*)?)\)', r'](\1)', md)


def prepare(src, dest):
    """Write every notebook of `src` (nbdev-processed, then adapted for myst-nb), docs/*.md and the API pages' list
    into `dest`, and the notebooks themselves into `dest/_notebooks/` to be downloaded."""
    cfg = get_config()
    src, dest = Path(src).resolve(), Path(dest).resolve()
    nbs = sorted(src.glob('[0-9]*.ipynb'))
    pages = {nbdev_page(nb): nb.stem for nb in nbs}
    site_url = cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/'
    code_url = cfg.git_url.rstrip('/') + f'/blob/{cfg.branch}/'
    dest.mkdir(parents=True, exist_ok=True)
    os.environ['IN_TEST'] = '1'    # what nbdev sets while it processes notebooks
    with _cwd(src), warnings.catch_warnings():
        warnings.simplefilter('ignore')   # nbdev's advice about cells mixing imports and code
        processed = {path.stem: show_exported_code(read_nb(path)) for path in nbs}
        for stem,nb in processed.items():
            try: process(nb)
            except Exception as e:
                raise RuntimeError(f"nbs/{stem}.ipynb: {e}\n{HINT}") from e
    anchors = {stem: documented(nb) for stem,nb in processed.items()}
    # files are only rewritten when they change, so that Sphinx re-reads only those
    for stem,nb in processed.items():
        nb = for_myst(nb, pages, site_url, anchors, code_url)
        has_exercises = any(exercises.BEGIN in c.source for c in nb.cells if c.cell_type == 'code')
        nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == 'markdown' else 0, download_cell(stem, has_exercises))
        write_nb(nb, dest/f'{stem}.ipynb')
    for old in set(dest.glob('*.ipynb')) - {dest/f'{stem}.ipynb' for stem in processed}: old.unlink()
    (dest/'_notebooks').mkdir(exist_ok=True)
    for path in nbs:
        if not (dest/'_notebooks'/path.name).exists() or (dest/'_notebooks'/path.name).read_bytes() != path.read_bytes():
            shutil.copy(path, dest/'_notebooks')
    for old in set((dest/'_notebooks').glob('*.ipynb')) - {dest/'_notebooks'/p.name for p in nbs}: old.unlink()
    shutil.rmtree(dest/'_notebooks'/'exercises', ignore_errors=True)
    exercises.write_copies(nbs, dest/'_notebooks'/'exercises')
    for f in [*(ROOT/'docs').glob('*.md'), ROOT/'README.md', ROOT/'CONTRIBUTING.md']:
        if f.name != 'api.md': _write(dest/f.name, site_links(f.read_text(encoding='utf-8')))
    mods = modules(nbs, cfg.lib_name)
    api_md, stubs = api_pages((ROOT/'docs/api.md').read_text(encoding='utf-8'), mods)
    _write(dest/'api.md', api_md)
    _write(dest/'_api_modules.rst', stubs)
    for old in (dest/'api').glob('*.rst'):   # pages of modules gone (and of the package, listed before)
        if old.stem not in {mod for mod,*_ in mods}: old.unlink()
    return nbs


def replace_folder(src, dest):
    "Make `dest` a copy of the folder `src`: copied beside it, then renamed into place, so a stop leaves the old site or the new, whole."
    part,old = dest.with_name(f'.{dest.name}.part'),dest.with_name(f'.{dest.name}.old')
    for f in (part, old): shutil.rmtree(f, ignore_errors=True)
    shutil.copytree(src, part)
    if dest.exists(): dest.rename(old)
    part.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def build(out=None, work=None, quiet=False):
    """Build the site into `out` (default: `doc_path`); `work` keeps the Sphinx source and cache between builds,
    and Sphinx's warnings in `warnings.txt`."""
    cfg = get_config()
    out = Path(out or cfg.doc_path)
    work = Path(work or cfg.config_path/'_proc'/'docs')
    if out.exists() and any(out.iterdir()) and not (out/'.buildinfo').exists():   # never wipe a folder that is not a site
        raise RuntimeError(f"{out} is not empty and holds no earlier build of the site (no .buildinfo): give a new or empty folder")
    start = time.perf_counter()
    nbs = prepare(cfg.nbs_path, work/'src')
    prepared = time.perf_counter()
    try: from sphinx.cmd.build import build_main
    except ImportError: raise RuntimeError("the website needs Sphinx, myst-nb and sphinx-book-theme: the dev tools "
                                           "install them (`dev_requirements` in settings.ini; Python 3.11+)") from None
    args = ['-b', 'html', '-c', str(ROOT/'docs'), '-d', str(work/'doctrees'), '-w', str(work/'warnings.txt')]
    # myst-nb writes images next to the output folder, so build in `work` and copy the site over; a fresh folder each
    # time (Sphinx keeps the page of a notebook removed or renamed), the doctrees kept (only changed pages are read again)
    shutil.rmtree(work/'html', ignore_errors=True)
    rc = build_main(args + (['-q'] if quiet else []) + [str(work/'src'), str(work/'html')])
    if rc: raise RuntimeError(f"sphinx-build failed (exit status {rc})")
    replace_folder(work/'html', out)
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
