"""The course website (`make docs`): built once into a temporary folder, then checked as files and in a browser.

The browser checks need Debian's `chromium`; they are skipped without it, except under `make test-browser`
or in CI (REQUIRE_BROWSER=1 or CI set), where a missing browser is a failure.
"""
import fcntl, functools, html, json, os, re, shutil, subprocess, sys, threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import docs  # noqa: E402  (tools/docs.py)
from exercise_checks import is_checks_cell  # noqa: E402

NOTEBOOKS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
# Sphinx 9 warns about APIs that its extensions still use; not ours to fix
pytestmark = pytest.mark.filterwarnings('ignore::PendingDeprecationWarning', 'ignore::DeprecationWarning')


@pytest.fixture(scope='session')
def site(tmp_path_factory):
    "The site, built once per test run even when pytest-xdist runs tests in several processes."
    pytest.importorskip('sphinx', reason="the website's tools need Python 3.11+")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'): base = base.parent   # shared by the xdist workers of this run
    out = base/'docs-site'
    with open(base/'docs-site.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out/'index.html').exists():
            cwd = os.getcwd()
            os.chdir(ROOT)
            try: docs.build(out, base/'docs-work', quiet=True)
            finally: os.chdir(cwd)
    return out


class Page(HTMLParser):
    "What the checks need from one HTML page: ids, links, resources, code-cell inputs and text."
    RESOURCES = {('script', 'src'), ('link', 'href'), ('img', 'src'), ('iframe', 'src'), ('source', 'src'),
                 ('video', 'src'), ('audio', 'src'), ('embed', 'src'), ('object', 'data')}

    def __init__(self, path):
        super().__init__()
        self.path, self.ids, self.links, self.resources, self.cell_inputs = path, set(), [], [], []
        self._div_depth, self._in_input, self._code = 0, None, []
        self.source = path.read_text(encoding='utf-8')
        self.feed(self.source)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and 'href' in a: self.links.append(a['href'])
        for t,attr in self.RESOURCES:
            if tag == t and a.get(attr) and not (tag == 'link' and a.get('rel') in ('canonical',)):
                self.resources.append((tag, a[attr]))
        if tag == 'div':
            self._div_depth += 1
            if 'cell_input' in a.get('class', '').split(): self._in_input, self._code = self._div_depth, []

    def handle_endtag(self, tag):
        if tag == 'div':
            if self._in_input == self._div_depth:
                self.cell_inputs.append(''.join(self._code))
                self._in_input = None
            self._div_depth -= 1

    def handle_data(self, data):
        if self._in_input: self._code.append(data)


@functools.cache
def parse(path): return Page(path)


def pages(site):
    "Every page of the site (not the theme's template fragments in _static/)."
    return {p: parse(p) for p in sorted(site.rglob('*.html')) if '_static' not in p.relative_to(site).parts}


def is_external(url): return bool(urlsplit(url).scheme) or url.startswith('//')


def has_math(nb):
    "Does the notebook's prose have $math$?"
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    return any(re.search(r'\$[^$\n]+\$', ''.join(c['source'])) for c in cells if c['cell_type'] == 'markdown')


WITH_MATH = [nb for nb in NOTEBOOKS if has_math(nb)]


def title(nb):
    "A notebook's title: its first markdown heading."
    for cell in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        if cell['cell_type'] == 'markdown' and (m := re.search(r'^#\s+(.+)$', ''.join(cell['source']), re.M)):
            return m.group(1).strip()


def prepared(tmp_path, cells):
    "The cells of a one-notebook course of `cells` (nbformat cells), as `prepare` writes it for Sphinx."
    import nbformat
    (tmp_path/'nbs').mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path/'nbs/07_demo.ipynb')
    cwd = os.getcwd()
    os.chdir(ROOT)
    try: docs.prepare(tmp_path/'nbs', tmp_path/'src')
    finally: os.chdir(cwd)
    return json.loads((tmp_path/'src/07_demo.ipynb').read_text())['cells']


def test_nbdev_processing_hides_cells_and_leaves_no_directive(tmp_path):
    "A small notebook through `prepare`: nbdev hides and documents, `for_myst` turns Quarto's options into tags."
    import nbformat
    cells = [nbformat.v4.new_markdown_cell('# 07 · A demo\n\n> One line that sums it up.'),
             nbformat.v4.new_code_cell('#|default_exp nb_07'),
             nbformat.v4.new_code_cell('#|export\ndef twice(x):\n    "Twice `x`: $2x$."\n    return 2*x'),
             nbformat.v4.new_code_cell('#|exports\ndef thrice(x):\n    "Three times `x`."\n    return 3*x'),
             nbformat.v4.new_code_cell('#|hide\nsecret_setup = 42'),
             nbformat.v4.new_code_cell('#| echo: false\nprint("only the output shows")'),
             nbformat.v4.new_code_cell('#|notest\n#| eval: false\nslow_benchmark()'),
             nbformat.v4.new_code_cell('#| code-fold: true\nex1 = Exercise("ex1", check, "a hint")'),
             nbformat.v4.new_code_cell('def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION')]
    out = prepared(tmp_path, cells)
    src = [''.join(c['source']) for c in out]
    assert src[0] == '# 07 · A demo\n\nOne line that sums it up.'          # front matter back to a title
    assert not any(l.lstrip().startswith('#|') for s in src for l in s.splitlines())
    assert not any('secret_setup' in s for s in src)                       # #|hide cells are hidden
    assert any(s.startswith('def twice') for s in src) and any(s.startswith('def thrice') for s in src)  # exported code shows
    assert 'slow_benchmark()' in src                                       # #|notest, eval: false: code shown
    docs_md = [''.join(o['data']['text/markdown']) for c in out for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert any('### twice' in md and '$2x$' in md for md in docs_md)       # show_doc, math kept for MyST
    echo = next(c for c in out if 'only the output shows' in ''.join(c['source']))
    assert echo['metadata']['tags'] == ['remove-input']
    for code in 'ex1 = Exercise', 'def answer':   # the checks and the answers: behind a click
        assert next(c for c in out if ''.join(c['source']).startswith(code))['metadata']['tags'] == ['hide-input']


def test_each_cells_docs_sit_above_its_code_in_order_and_saved_outputs_stay(tmp_path):
    """nbdev's mv_exports moved one show_doc of a cell above it, left the rest below in reverse order, and gave a cell
    of imports the next cell's; nbdev runs every cell with an import again, and its output replaced the saved one
    (01c's page said 'no CUDA GPU here' above the H200's figures)."""
    import nbformat
    saved = nbformat.v4.new_code_cell('import os\nprint(os.environ.get("DLF_NOT_SET", "this machine"))')
    saved.outputs = [nbformat.v4.new_output('stream', name='stdout', text='the machine that ran it\n')]
    cells = [nbformat.v4.new_markdown_cell('# 07 · A demo'), nbformat.v4.new_code_cell('#|default_exp nb_07'),
             nbformat.v4.new_code_cell('#|export\nimport math'),
             nbformat.v4.new_code_cell('#|export\ndef one():\n    "One."\n    return 1\n\ndef two():\n    "Two."\n    return 2\n\n'
                                       'def three():\n    "Three."\n    return 3'),
             saved, nbformat.v4.new_code_cell('import math; 2 * 21'),
             nbformat.v4.new_markdown_cell('Prose.'), nbformat.v4.new_code_cell('#|export nb_08\ndef four():\n    "Four."\n    return 4')]
    out = prepared(tmp_path, cells)
    src = [''.join(c['source']) for c in out]
    order = [s for s in src if s.startswith(('import math', 'show_doc', 'def one')) and s != 'show_doc(four)']
    assert order == ['import math', 'show_doc(one)', 'show_doc(two)', 'show_doc(three)', 'def one():\n    "One."\n    return 1\n\n'
                     'def two():\n    "Two."\n    return 2\n\ndef three():\n    "Three."\n    return 3', 'import math; 2 * 21'], order
    ran = next(c for c in out if 'DLF_NOT_SET' in ''.join(c['source']))
    assert ''.join(ran['outputs'][0]['text']) == 'the machine that ran it\n'
    assert next(c for c in out if ''.join(c['source']) == 'import math; 2 * 21')['outputs'] == []   # saved without output: none
    assert src[-2:] == ['Prose.', 'show_doc(four)']     # nbdev drops a cell exported elsewhere: its card stays after the prose


def test_only_export_cells_become_exports():
    from execnb.nbio import dict2nb
    nb = dict2nb({'cells': [{'cell_type': 'code', 'metadata': {}, 'outputs': [], 'execution_count': None, 'source': s + '\nx = 1'}
                            for s in ('#|export', '#| export ', '#|exports', '#|exporti', '#|export_thing')]})
    assert [c.source.splitlines()[0] for c in docs.show_exported_code(nb).cells] == ['#|exports', '#|exports', '#|exports', '#|exporti', '#|export_thing']


def test_source_links_anchor_public_names_only():
    "A private helper has no block of its own on the module's page: its link goes to the top of the module."
    assert docs.source_link('exp/nb_00', '### describe\n').endswith('#describe">source</a>')
    assert docs.source_link('exp/nb_00', '### _a\n').endswith('nb_00.html">source</a>')


def test_show_docs_leading_rule_is_dropped():
    "docutils refuses a document part that starts with a transition (---)."
    from execnb.nbio import dict2nb
    nb = dict2nb({'cells': [{'cell_type': 'code', 'metadata': {}, 'execution_count': 1, 'source': 'show_doc(f)',
                             'outputs': [{'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': '---\n\n### f\n'}}]}]})
    assert docs.for_myst(nb, {}, 'https://example.org/', {}).cells[0].outputs[0]['data']['text/markdown'] == '\n\n### f\n'


def test_links_to_the_published_site_become_links_between_pages():
    from execnb.nbio import dict2nb
    url = 'https://example.org/course/'
    nb = dict2nb({'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source':
        f'[`test_eq`]({url}exports.html#test_eq), [`Module.bwd`]({url}fully_connected.html#module.bwd), [x]({url}nb.html), '
        f'[`_helper`]({url}exports.html#_helper)'}]})
    docs.for_myst(nb, {'exports': '00_exports', 'fully_connected': '02_fully_connected'}, url,
                  {'00_exports': {'test_eq'}, '02_fully_connected': {'module'}})
    assert nb.cells[0].source == ('[`test_eq`](00_exports.ipynb#test_eq), [`Module.bwd`](02_fully_connected.ipynb#module), '
                                  '[x](nb.ipynb), [`_helper`](00_exports.ipynb)')   # an undocumented method: its class; a helper: its page


def test_a_page_per_notebook_in_numbered_order(site):
    assert NOTEBOOKS, "no notebooks in nbs/"
    home = (site/'index.html').read_text(encoding='utf-8')
    outline = re.findall(r'href="(\d\w*)\.html"', home[home.index('Course outline'):])
    assert list(dict.fromkeys(outline)) == [nb.stem for nb in NOTEBOOKS]
    for prev,nb,nxt in zip(['index'] + [n.stem for n in NOTEBOOKS], NOTEBOOKS, [n.stem for n in NOTEBOOKS[1:]] + ['following-2019']):
        page = (site/f'{nb.stem}.html').read_text(encoding='utf-8')
        h1 = [html.unescape(re.sub(r'<[^>]+>', '', h)) for h in re.findall(r'<h1>(.*?)<a class="headerlink"', page)]
        assert h1 == [re.sub(r'[`*]', '', title(nb))], f"{nb.stem}: title {h1}"
        assert re.search(rf'class="left-prev"\s+href="{prev}\.html"', page), f"{nb.stem}: no link to the previous page"
        assert re.search(rf'class="right-next"\s+href="{nxt}\.html"', page), f"{nb.stem}: no link to the next page"
    guide = (site/'following-2019.html').read_text(encoding='utf-8')         # the guides come after the notebooks
    assert 'Following the 2019 lessons' in guide and re.search(r'class="right-next"\s+href="CONTRIBUTING\.html"', guide)
    contributing = (site/'CONTRIBUTING.html').read_text(encoding='utf-8')     # contributor material has its own page
    assert 'Daily workflow' in contributing and re.search(r'class="right-next"\s+href="api\.html"', contributing)


def test_sphinx_builds_without_warnings(site):
    warned = (site.parent/'docs-work/warnings.txt').read_text(encoding='utf-8').strip()
    assert not warned, f"Sphinx warned:\n{warned}"


def test_every_internal_link_and_anchor_resolves(site):
    parsed = pages(site)
    broken = []
    for p,pg in parsed.items():
        for url in pg.links + [u for _,u in pg.resources]:
            if is_external(url) or url.startswith(('mailto:', 'javascript:')): continue
            parts = urlsplit(url)
            target = (p.parent/unquote(parts.path)).resolve() if parts.path else p
            if not target.is_file(): broken.append(f"{p.relative_to(site)}: {url} (no such file)")
            elif parts.fragment and target.suffix == '.html':
                if unquote(parts.fragment) not in parse(target).ids:
                    broken.append(f"{p.relative_to(site)}: {url} (no such anchor)")
    assert not broken, '\n'.join(broken)


def test_nothing_is_loaded_from_the_network(site):
    remote = [f"{p.relative_to(site)}: <{tag}> {url}" for p,pg in pages(site).items()
              for tag,url in pg.resources if is_external(url)]
    css_url = re.compile(r'''(?:@import\s+|url\()\s*['"]?\s*(?:https?:)?//''', re.I)
    remote += [f"{f.relative_to(site)}: remote url() or @import" for f in site.rglob('*.css')
               if css_url.search(f.read_text(encoding='utf-8', errors='replace'))]
    remote += [f"{p.relative_to(site)}: inline style imports from the network" for p,pg in pages(site).items()
               if css_url.search(''.join(re.findall(r'<style.*?</style>', pg.source, re.S)))]
    assert not remote, '\n'.join(remote)


def test_math_is_typeset_from_a_local_mathjax(site):
    "Every notebook with $math$ in its prose gets math on its page, typeset by the MathJax copied into the site."
    assert (site/'_static/mathjax/tex-chtml.js').stat().st_size > 100_000
    assert WITH_MATH, "no notebook has math to check"
    for nb in WITH_MATH:
        page = (site/f'{nb.stem}.html').read_text(encoding='utf-8')
        assert re.search(r'<script[^>]+src="_static/mathjax/tex-chtml\.js', page), f"{nb.stem}: no local MathJax"
        assert re.search(r'class="math notranslate nohighlight">\\\(', page), f"{nb.stem}: no inline math"


def test_plots_are_embedded(site):
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
        shown = [c for c in cells if c['cell_type'] == 'code' and not re.match(r'\s*#\|\s*hide\b', ''.join(c['source']))]
        n_plots = sum(any(k.startswith('image/') for k in o.get('data', {})) for c in shown for o in c.get('outputs', []))
        imgs = [u for tag,u in parse(site/f'{nb.stem}.html').resources if tag == 'img']
        assert len(imgs) >= n_plots, f"{nb.stem}: {n_plots} plots in the notebook, {len(imgs)} images on the page"
        for u in imgs:
            head = (site/u).read_bytes()[:64]
            assert head.startswith((b'\x89PNG\r\n\x1a\n', b'\xff\xd8')) or b'<svg' in head or head.startswith(b'<?xml'), \
                f"{nb.stem}: {u} is not an image"


def test_no_directive_or_front_matter_leaks(site):
    for nb in NOTEBOOKS:
        pg = parse(site/f'{nb.stem}.html')
        leaks = [code.splitlines()[0] for code in pg.cell_inputs if re.match(r'\s*#\|', code)]
        assert not leaks, f"{nb.stem}: cells start with a directive: {leaks}"
        text = re.sub(r'<[^>]+>', '', pg.source)
        for leak in ('output-file:', '{target=', 'WARNING: THIS FILE WAS AUTOGENERATED'):
            assert leak not in text, f"{nb.stem}: {leak!r} shows on the page"


def test_show_doc_and_api_reference_document_every_exported_name(site):
    "nbdev's index (exp/_modidx.py) lists the exported names: each public one has its show_doc and its API entry."
    from exp._modidx import d
    by_html = {docs.nbdev_page(nb): nb.stem for nb in NOTEBOOKS}
    missing = []
    for mod,syms in d['syms'].items():
        for sym,(url,_) in syms.items():
            page,anchor = url.split('#')
            stem, name = by_html.get(page.removesuffix('.html')), sym.removeprefix(mod + '.')
            if stem is None or '.' in name or name.startswith('_'): continue   # notebook gone, a method, private
            if anchor not in parse(site/f'{stem}.html').ids: missing.append(f"{sym}: no show_doc in {stem}")
            if sym not in parse(site/f'api/{mod}.html').ids: missing.append(f"{sym}: not in api/{mod}.html")
    assert not missing, '\n'.join(missing)


def test_each_notebook_page_offers_its_notebook_for_download(site):
    "A link on each notebook page downloads the notebook itself, a file shipped with the site."
    for nb in NOTEBOOKS:
        pg = parse(site/f'{nb.stem}.html')
        links = [u for u in pg.links if u.endswith(f'/{nb.name}') and u.startswith('_downloads/')]
        assert links and re.search(r'<a class="reference download internal" download="" href="_downloads/', pg.source), \
            f"{nb.stem}: no download link for {nb.name}"
        assert (site/links[0]).read_bytes() == nb.read_bytes(), f"{nb.stem}: {links[0]} is not nbs/{nb.name}"
        copies = [site/u for u in links if (site/u).read_bytes() != nb.read_bytes()]
        if '### BEGIN SOLUTION' in nb.read_text(encoding='utf-8'):   # and the learner's copy, answers stubbed out
            assert len(copies) == 1 and 'raise NotImplementedError()' in copies[0].read_text(encoding='utf-8'), nb.stem
            assert '### BEGIN SOLUTION' not in copies[0].read_text(encoding='utf-8')
        else: assert not copies, nb.stem


def test_exercise_answers_and_checks_are_behind_a_click(site):
    "On the site each exercise's answer and the checks cell are folded (myst-nb's hide-input); other code is not."
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
        answers = sum('### BEGIN SOLUTION' in ''.join(c['source']) for c in cells if c['cell_type'] == 'code')
        checks = sum(is_checks_cell(''.join(c['source'])) for c in cells if c['cell_type'] == 'code')
        source = parse(site/f'{nb.stem}.html').source
        folded = [html.unescape(re.sub(r'<[^>]+>', '', f)) for f in
                  re.findall(r'<details class="[^"]*\bhide above-input">(.*?)</details>', source, re.S)]
        assert sum('### BEGIN SOLUTION' in f for f in folded) == answers, f"{nb.stem}: not every answer is folded"
        assert sum('= Exercise(' in f for f in folded) == checks, f"{nb.stem}: the checks are not folded"
        assert len(folded) == answers + checks, f"{nb.stem}: {len(folded)} folded cells"


def test_source_links_go_to_the_code_shipped_with_the_site(site):
    """show_doc's and the API's "source" links open the module's code in the site; none goes to the code at `git_url`."""
    from nbdev.config import get_config
    git_url, remote, n = get_config().git_url.rstrip('/'), [], 0
    for p,pg in pages(site).items():
        for url in re.findall(r'<a class="source-link" href="([^"]+)"', pg.source) + \
                   re.findall(r'<a class="reference internal" href="([^"]*_modules/[^"]+)"><span class="viewcode-link">', pg.source):
            n += 1
            parts = urlsplit(url)
            target = (p.parent/unquote(parts.path)).resolve()
            assert not is_external(url) and target.is_file() and target.relative_to(site/'_modules'), f"{p.name}: {url}"
            assert not parts.fragment or parts.fragment in parse(target).ids, f"{p.name}: {url} (no such anchor)"
        remote += [f"{p.relative_to(site)}: {u}" for u in pg.links if u.startswith(git_url + '/blob/')]   # code on the forge (its issues page is fine)
    assert n >= len(NOTEBOOKS), f"only {n} source links"
    assert not remote, "links made from git_url:\n" + '\n'.join(remote)


def test_api_landing_page_describes_each_module_and_links_its_notebook(site):
    mods = docs.modules(NOTEBOOKS, 'exp')
    assert {m for m,*_ in mods} >= {'exp.nb_00', 'exp.nb_01', 'exp.nb_02', 'exp.nb_03'}
    page = (site/'api.html').read_text(encoding='utf-8')
    rows = [r for r in re.findall(r'<tr class="row-(?:odd|even)">(.*?)</tr>', page, re.S) if '<td' in r]
    assert len(rows) == len(mods), f"{len(rows)} rows for {len(mods)} modules"
    for row,(mod,stem,title,summary) in zip(rows, mods):
        assert f'href="api/{mod}.html#module-{mod}"' in row, f"{mod}: no link to its page"
        assert f'href="{stem}.html"' in row, f"{mod}: no link to its notebook {stem}"
        text = html.unescape(re.sub(r'<[^>]+>', '', row.split('</td>')[-2]))
        assert len(text.split()) >= 5, f"{mod}: no description ({text!r})"


# ---- in a real browser, with every network request failing --------------------------------------------
CHROMIUM = os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
browser = pytest.mark.skipif(not CHROMIUM and not (os.environ.get('REQUIRE_BROWSER') or os.environ.get('CI')),
                             reason="Debian's chromium is not installed (make test-browser installs it)")
# Chromium's own background calls (updates, clock, accounts), not the page's; fonts.googleapis.com is not among them
CHROMIUMS_OWN = re.compile(r'^(clients\d*\.google\.com|accounts\.google\.com|[\w.-]*\.gvt1\.com|'
                           r'(update|optimizationguide-pa|safebrowsing|content-autofill)\.googleapis\.com)(:\d+)?$')


def _serve(handler, directory=None):
    "Serve on a free port of 127.0.0.1 in a thread; return the server."
    server = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(handler, directory=directory) if directory else handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope='module')
def offline_browser(site):
    """Run Chromium on the site served on 127.0.0.1 (as `make docs-serve` does) with every other request failing:
    names do not resolve, and the proxy it must use refuses and records each request.
    Yields `open(path, *args)` -> (DOM after the scripts ran, paths the site served, hosts asked for)."""
    served, outside, missing = [], [], []
    class Site(SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):
            served.append(self.path)
            if len(args) > 1 and str(args[1]) == '404': missing.append(self.path)
        def send(self, body):
            self.send_response(200); self.send_header('Content-Type', 'text/html'); self.end_headers()
            self.wfile.write(body.encode())
        def do_GET(self):
            url = urlsplit(self.path)
            if url.path.startswith('/_framed/'):
                # a page in a frame: headless Chromium's screenshot of a page scrolled to an anchor comes out blank
                return self.send(f'<!DOCTYPE html><link rel="icon" href="data:,"><body style="margin:0"><iframe src="/{url.path[9:]}#{url.query}" '
                                 'style="border:0;width:100vw;height:100vh"></iframe>')
            if url.path == '/_measure': return self.send(MEASURE)
            path = Path(self.translate_path(self.path))
            if path.is_dir(): path /= 'index.html'
            if path.suffix == '.html' and path.is_file():   # every page gets the probe (see PROBE)
                return self.send(path.read_text(encoding='utf-8').replace('<head>', f'<head><script>{PROBE}</script>', 1))
            return super().do_GET()
    class Refuse(BaseHTTPRequestHandler):
        def refuse(self):
            host = urlsplit(self.path).netloc or self.path   # GET http://host/... or CONNECT host:443
            if not CHROMIUMS_OWN.search(host): outside.append(self.requestline)
            self.send_error(403)
        do_GET = do_HEAD = do_POST = do_CONNECT = refuse
        def log_message(self, fmt, *args): pass
    site_server, proxy = _serve(Site, site), _serve(Refuse)
    url = f'http://127.0.0.1:{site_server.server_port}/'
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
             f'--proxy-server=http://127.0.0.1:{proxy.server_port}', '--virtual-time-budget=15000']

    def open_(path, *args, timeout=120):
        assert CHROMIUM, "Debian's chromium is not installed: make test-browser installs it"
        served.clear(); outside.clear(); missing.clear()
        target = path if path.startswith('file:') else url + path
        own = [f for f in flags if f.split('=')[0] not in {a.split('=')[0] for a in args}]   # args override flags
        res = subprocess.run([CHROMIUM, *own, *args, target], capture_output=True, text=True, timeout=timeout)
        assert not missing, f"the site has no {missing}"
        return res.stdout, list(served), list(outside)
    yield open_
    site_server.shutdown(); proxy.shutdown()


# Injected into each page the test server serves: records console errors and warnings, uncaught errors and
# resources that failed to load, then, once MathJax is done, measures the page as laid out and leaves the
# result as JSON in a <script id="probe"> (and posts it to the measuring page when the page is in its frame).
PROBE = r"""(() => {
  const log = [];
  for (const level of ['error', 'warn']) {
    const original = console[level];
    console[level] = (...args) => { log.push(`console.${level}: ${args.join(' ')}`); original.apply(console, args); };
  }
  addEventListener('error', e => log.push(e.message ? `uncaught: ${e.message}`
                                                    : `failed to load: ${e.target.src || e.target.href}`), true);
  addEventListener('unhandledrejection', e => log.push(`unhandled rejection: ${e.reason}`));
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const cut = (el, article) => {   // does a formula reach past the column, and not scroll on its own?
    if ([el, el.parentElement].some(box => ['auto', 'scroll'].includes(getComputedStyle(box).overflowX))) return false;
    const right = Math.max(...[...el.querySelectorAll('mjx-math')].map(m => m.getBoundingClientRect().right));
    return right > Math.min(article.getBoundingClientRect().right, document.documentElement.clientWidth) + 1;
  };
  addEventListener('load', async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await new Promise(done => setTimeout(done, 300));
    const article = document.querySelector('article.bd-article') || document.body;
    const pres = [...article.querySelectorAll('pre')].filter(shown);
    const longest = p => p.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '').trim().slice(0, 80);
    const maths = [...document.querySelectorAll('mjx-container[display="true"]')].filter(shown);
    const result = {
      page: location.pathname, width: innerWidth, article: Math.round(article.getBoundingClientRect().width),
      pres: pres.length, scrolling: pres.filter(p => p.scrollWidth > p.clientWidth + 1 && !p.closest('.table-like')).map(longest),
      tables: [...article.querySelectorAll('.table-like pre')].filter(shown).map(p => ({
        scrolls: ['auto', 'scroll'].includes(getComputedStyle(p).overflowX), wraps: getComputedStyle(p).whiteSpace !== 'pre'})),
      wrapped: pres.filter(p => { const w = p.style.whiteSpace; p.style.whiteSpace = 'pre';
                                  const over = p.scrollWidth > p.clientWidth + 1; p.style.whiteSpace = w; return over; }).length,
      pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
      maths: maths.length, mathCut: maths.filter(m => cut(m, article)).map(m => m.textContent.slice(0, 60)),
      plots: [...article.querySelectorAll('.cell_output img')].filter(shown).map(img => ({
        src: img.getAttribute('src'), natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
        room: img.closest('.cell_output').getBoundingClientRect().width,
        link: img.closest('a') && img.closest('a').getAttribute('href')})),
      brokenNames: [...article.querySelectorAll('table code span.pre')].filter(s => s.getClientRects().length > 1).map(s => s.textContent),
      searchBoxes: [...document.querySelectorAll('.search-button__button, input[type=search], input[name=q]')].filter(shown).length,
      log};
    const out = document.createElement('script');
    out.type = 'application/json'; out.id = 'probe'; out.textContent = JSON.stringify(result);
    document.body.append(out);
    if (parent !== window) parent.postMessage(result, '*');
  });
})();"""

# The measuring page: loads each page of ?pages= in a frame of each width of ?widths=, one after the other, and
# collects what the probe measured in a <script id="measured">.
MEASURE = r"""<!DOCTYPE html><link rel="icon" href="data:,"><body style="margin:0"><script>
(async () => {
  const q = new URLSearchParams(location.search), results = [];
  for (const page of q.get('pages').split(','))
    for (const width of q.get('widths').split(',')) {
      const frame = document.createElement('iframe');
      frame.style = `border:0;width:${width}px;height:900px`;
      const measured = new Promise(done => addEventListener('message', e => e.source === frame.contentWindow && done(e.data)));
      frame.src = '/' + page;
      document.body.append(frame);
      results.push(await Promise.race([measured, new Promise(done => setTimeout(() => done({page, width, timeout: true}), 20000))]));
      frame.remove();
    }
  const out = document.createElement('script');
  out.type = 'application/json'; out.id = 'measured'; out.textContent = JSON.stringify(results);
  document.body.append(out);
})();
</script>"""
DESKTOP, PHONE = 1280, 390


def probe(dom):
    "What PROBE measured on the page `dom`."
    m = re.search(r'<script type="application/json" id="probe">(.*?)</script>', dom, re.S)
    assert m, "the probe did not report: the page never finished loading"
    return json.loads(m.group(1))


def page_with_math_and_plot(site):
    "The first notebook page with typeset math and a plot, and the id of the section that has both, if one does."
    for nb in NOTEBOOKS:
        src = (site/f'{nb.stem}.html').read_text(encoding='utf-8')
        if 'class="math' not in src or '<img' not in src: continue
        sections = re.split(r'(?=<section id=")', src)
        both = [s for s in sections if 'class="math' in s and '<img' in s]
        best = both[0] if both else next(s for s in sections if '<img' in s)
        return nb.stem, re.match(r'<section id="([^"]+)"', best).group(1)
    pytest.fail("no notebook page has both math and a plot")


@browser
def test_browser_home_page_lists_the_notebooks(offline_browser):
    dom, served, outside = offline_browser('', '--dump-dom')
    for nb in NOTEBOOKS: assert f'href="{nb.stem}.html"' in dom, f"home page does not link {nb.stem}"
    assert not probe(dom)['log'], f"the home page logged: {probe(dom)['log']}"
    assert not outside, f"the page asked the network for: {outside}"


@browser
@pytest.mark.parametrize('nb', WITH_MATH, ids=lambda nb: nb.stem)
def test_browser_typesets_math_offline(offline_browser, nb):
    dom, served, outside = offline_browser(f'{nb.stem}.html', '--dump-dom')
    assert any(p.startswith('/_static/mathjax/tex-chtml.js') for p in served), "MathJax not loaded from the site"
    maths = re.findall(r'class="math notranslate nohighlight">(.{0,20})', dom, re.S)
    assert maths, "no math on the page"
    raw = [m for m in maths if not m.lstrip().startswith('<mjx-container')]
    assert not raw, f"MathJax left {len(raw)} of {len(maths)} formulas untypeset: {raw}"
    assert '<mjx-merror' not in dom and 'data-mjx-error' not in dom, "MathJax reports a math error"
    undefined = re.findall(r'mathcolor="red">(\\\w+)', dom)   # MathJax shows an unknown macro in red
    assert not undefined, f"undefined TeX macros: {undefined}"
    assert not outside, f"the page asked the network for: {outside}"


def search_results(dom):
    "The pages a search lists, and the excerpts it shows under them."
    found = re.search(r'found (\d+) page', dom)
    assert found and int(found.group(1)) >= 1, "search found nothing for 'tensor'"
    results = re.search(r'<ul [^>]*class="search">(.*?)</ul>', dom, re.S)
    assert results and re.search(r'href="\d\w*\.html', results.group(1)), "search lists no notebook page"
    return re.findall(r'<p class="context">(.*?)</p>', results.group(1), re.S)


@browser
def test_browser_search_finds_pages(offline_browser):
    "Served, search shows excerpts of the pages' text: not their menus or contents list (Sphinx's own fetch shows them), nor MathJax's \\( \\)."
    dom, served, outside = offline_browser('search.html?q=tensor', '--dump-dom')
    excerpts = search_results(dom)
    assert len(excerpts) >= 3 and all('tensor' in e.lower() for e in excerpts[:3]), f"search shows no excerpts: {excerpts[:3]}"
    dom, served, outside = offline_browser('search.html?q=broadcasting', '--dump-dom')
    excerpts = search_results(dom)
    assert excerpts and not [e for e in excerpts if 'Contents' in e or '\\(' in e], f"excerpts show menus or MathJax source: {excerpts}"
    assert not probe(dom)['log'], f"the search page logged: {probe(dom)['log']}"
    assert not outside, f"the page asked the network for: {outside}"


@browser
def test_browser_search_shows_excerpts_when_opened_from_disk(offline_browser, site):
    "Opened as a file (file://), as `make docs` suggests, search still shows an excerpt under each page it finds."
    dom, served, outside = offline_browser((site/'search.html').as_uri() + '?q=tensor', '--dump-dom')
    excerpts = search_results(dom)
    assert len(excerpts) >= 3 and all('tensor' in e.lower() for e in excerpts[:3]), f"search shows no excerpts: {excerpts[:3]}"
    texts = {p.name: p.read_text(encoding='utf-8') for p in (site/'_static/search-text').glob('*.js')}
    chrome = [name for name,t in texts.items() if 'System Settings' in t or 'jb-print' in t or '\\\\(' in t]
    assert texts and not chrome, f"the excerpts' text shows the page's menus or MathJax's \\( \\): {chrome}"
    assert not outside, f"the page asked the network for: {outside}"


@browser
def test_browser_pages_read_well_on_a_laptop_and_a_phone(offline_browser, site):
    """Every page, laid out at 1280 px and at a phone's 390 px: at most 5 % of its code blocks scroll sideways (a
    table a cell printed scrolls rather than wrap its columns), the page itself does not, no display formula is cut, no name in a table is cut but where it may break (after _ . /), a plot wider than the column fills it and links to its
    image, one search box shows, and nothing is logged to the console or missing (favicon included)."""
    names = ['index.html', *(f'{nb.stem}.html' for nb in NOTEBOOKS), 'following-2019.html', 'CONTRIBUTING.html', 'api.html',
             *(f'api/{p.name}' for p in sorted((site/'api').glob('*.html'))), 'search.html']
    dom, served, outside = offline_browser(f'_measure?pages={",".join(names)}&widths={DESKTOP},{PHONE}', '--dump-dom',
                                           '--window-size=1400,1000', '--virtual-time-budget=600000', timeout=400)
    m = re.search(r'<script type="application/json" id="measured">(.*?)</script>', dom, re.S)
    assert m, "the measuring page did not finish"
    results, problems = json.loads(m.group(1)), []
    print(f"\n{'page':34} {'width':>5} {'code blocks':>11} {'scroll':>6} {'wrap':>5} {'math':>4}")
    for r in results:
        where = f"{r['page']} at {r['width']} px"
        if r.get('timeout'): problems.append(f"{where}: never finished loading"); continue
        print(f"{r['page'][1:]:34} {r['width']:5} {r['pres']:11} {len(r['scrolling']):6} {r['wrapped']:5} {r['maths']:4}")
        if len(r['scrolling']) > 0.05 * r['pres']:
            problems.append(f"{where}: {len(r['scrolling'])} of {r['pres']} code blocks scroll sideways, e.g. {r['scrolling'][:3]}")
        if r['pageScrolls']: problems.append(f"{where}: the page scrolls sideways")
        if bad := [t for t in r['tables'] if t['wraps'] or not t['scrolls']]: problems.append(f"{where}: {len(bad)} printed tables wrap")
        if r['mathCut']: problems.append(f"{where}: display math cut at the right: {r['mathCut']}")
        for img in r['plots']:
            if img['natural'] > img['room'] and img['shown'] < img['room'] - 2:
                problems.append(f"{where}: {img['src']} shown {img['shown']:.0f} px wide in {img['room']:.0f} px")
            if not img['link'] or not (site/r['page'][1:]).parent.joinpath(img['link']).resolve().samefile(
                    (site/r['page'][1:]).parent/img['src']):
                problems.append(f"{where}: {img['src']} does not link to its image")
        if r['brokenNames']: problems.append(f"{where}: code in a table broken mid-piece: {r['brokenNames'][:3]}")
        if r['searchBoxes'] != 1: problems.append(f"{where}: {r['searchBoxes']} search boxes")
        problems += [f"{where}: {line}" for line in r['log']]
    assert len(results) == 2 * len(names)
    assert [bool(r['tables']) for r in results if r['page'] == '/01_matmul.html'] == [True, True], "01's speed-up tables are not marked table-like"
    assert not problems, '\n'.join(problems)
    assert not outside, f"the pages asked the network for: {outside}"


@browser
def test_browser_screenshot(offline_browser, site, tmp_path):
    "A screenshot of a notebook page at the section with math and a plot (DOCS_SCREENSHOT=path keeps it)."
    stem, section = page_with_math_and_plot(site)
    png = Path(os.environ.get('DOCS_SCREENSHOT') or tmp_path/'docs.png').resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    offline_browser(f'_framed/{stem}.html?{section}', f'--screenshot={png}', '--window-size=1280,1400', '--hide-scrollbars')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 50_000, "no screenshot written"


def test_a_printed_table_is_told_from_text():
    "docs/conf.py marks a cell's output that lines up columns, so that it scrolls instead of wrapping them."
    pytest.importorskip('docutils', reason="the website's tools need Python 3.11+")
    sys.path.insert(0, str(ROOT/'docs'))
    from conf import is_table
    table = "              median     IQR   runs x calls  speed-up vs b\nhand-written  28.7 ms  5.49 ms   5 x 2   0.9x\nautograd  25.8 ms  4.29 ms  5 x 2  1x\n"
    assert is_table(table)
    assert not is_table("clock resolution: 1 ns reported; two readings in a row at least 40 ns apart\nnext line")
    assert not is_table("{'ε = 0.01': '1.7e-05',\n 'ε = 0.0001': '1.7e-09'}") and not is_table("a  b")
    assert not is_table("tensor([[ -2.0269,  -7.0269,  -1.0269],\n        [ 3.0000,   1.5000,  -0.5000]])")   # a tensor wraps as before


def test_the_home_page_links_each_lesson_before_its_outline(site):
    "The README's tables name the notebooks as links (nbs/X.ipynb in the repository, X.html on the site): a phone shows no sidebar."
    page = (site/'index.html').read_text(encoding='utf-8')
    readme = page[page.index('role="main"'):page.index('id="course-outline"')]   # the article, not the sidebar's links
    for nb in NOTEBOOKS: assert f'href="{nb.stem}.html"' in readme, f"the home page's text does not link {nb.stem}"
    for guide in ('following-2019', 'CONTRIBUTING', 'api'): assert f'href="{guide}.html' in readme, guide


def test_site_links_put_the_repositorys_notebooks_and_guides_side_by_side():
    assert docs.site_links('[a](nbs/01_matmul.ipynb), [b](docs/api.md#x), [c](https://x.org/nbs/y)') == \
        '[a](01_matmul.ipynb), [b](api.md#x), [c](https://x.org/nbs/y)'


def test_a_lesson_named_as_code_links_to_its_page(site):
    "01 names `00_exports` and `00b_measure` as code, as it names `test_near`: both kinds now link."
    page = (site/'01_matmul.html').read_text(encoding='utf-8')
    for stem in ('00_exports', '00b_measure'):
        assert re.search(rf'<a class="reference internal" href="{stem}\.html"><code[^>]*><span class="pre">{stem}</span>', page), stem
    assert not re.search(r'href="01_matmul\.html"><code', page), "a page links its own name"


def test_the_site_replaces_only_an_earlier_site_and_whole(tmp_path, monkeypatch):
    "`--out .` used to delete the checkout; a stop between removing the old site and copying the new left none."
    monkeypatch.chdir(ROOT)
    notes = tmp_path/'notes'; notes.mkdir(); (notes/'mine.txt').write_text('keep me')
    with pytest.raises(RuntimeError, match=r'is not empty and holds no earlier build of the site'): docs.build(notes)
    assert (notes/'mine.txt').read_text() == 'keep me'
    new, out = tmp_path/'html', tmp_path/'site'
    new.mkdir(); (new/'.buildinfo').write_text('new'); (new/'a.html').write_text('a')
    out.mkdir(); (out/'.buildinfo').write_text('old'); (out/'gone.html').write_text('a page of a notebook since removed')
    docs.replace_folder(new, out)
    assert sorted(p.name for p in out.iterdir()) == ['.buildinfo', 'a.html'] and (out/'.buildinfo').read_text() == 'new'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['html', 'notes', 'site']           # no copy left beside it


def _main(page):
    "A page's article, not the sidebar that links every page."
    return page[page.index('role="main"'):]


def test_the_2019_guide_does_not_link_2019s_notebook_names_to_this_courses_pages(site):
    "`01_matmul` in the 2019 table is fast.ai's 2019 notebook, not this course's page of that name."
    assert not re.search(r'href="\d\w*\.html"><code', _main((site/'following-2019.html').read_text(encoding='utf-8')))
    home = _main((site/'index.html').read_text(encoding='utf-8'))
    section = home[home.index('id="following-the-2019-lessons"'):]
    section = section[:section.index('<section', 1)] if '<section' in section[1:] else section
    assert 'href="01_matmul.html"><code' not in section
    assert 'href="01_matmul.html"><code' in home          # elsewhere on the home page, the course's own lesson links


def test_web_addresses_in_the_prose_are_links_and_file_names_are_not(site):
    page = _main((site/'01_matmul.html').read_text(encoding='utf-8'))
    assert 'class="reference external" href="https://numpy.org/doc/stable/user/basics.broadcasting.html"' in page
    for p in pages(site).values():
        assert not any(re.match(r'https?://[\w-]+\.(md|py|ipynb)\b', l) for l in p.links), p.path     # no file name as a site
        assert not [l for l in p.links if is_external(l) and l[-1] in ':;,.'], p.path                 # prose's punctuation left out


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_each_page_shows_the_outputs_its_notebook_was_saved_with(site, nb):
    "nbdev runs the cells with an import again for show_doc; their saved output (01c's: the GPU it ran on) must stay."
    page = html.unescape((site/f'{nb.stem}.html').read_text(encoding='utf-8'))
    for cell in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        for out in cell.get('outputs', []):
            if out.get('name') != 'stdout': continue
            first = next((l.strip() for l in ''.join(out['text']).splitlines() if l.strip()), None)
            if first and not re.search(r'\x1b|%|\[', first):   # ANSI escapes, progress bars: rendered otherwise
                assert first in page, f"{nb.stem}: the saved output line {first!r} is not on the page"
