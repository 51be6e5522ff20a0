"""Sphinx configuration of the course website. Build it with `make docs` (tools/docs.py), not sphinx-build:
the notebooks are first prepared by nbdev's processors into a work folder that becomes the Sphinx source."""
import html, json, posixpath, re, sys
from html.parser import HTMLParser
from pathlib import Path

from docutils import nodes
from nbdev.config import get_config

cfg = get_config()
sys.path.insert(0, str(cfg.config_path))   # autodoc imports `exp` from this checkout

project, author, copyright, release = cfg.title, cfg.author, cfg.copyright, cfg.version
language = 'en'

extensions = [
    'myst_nb',                   # notebooks and Markdown (MyST) pages
    'sphinx.ext.autodoc',        # the API reference
    'sphinx.ext.autosummary',
    'sphinx.ext.mathjax',
    'sphinx-mathjax-offline',    # serves MathJax from _static/ instead of a CDN
    'sphinx.ext.viewcode',       # each module's code as a page of the site: show_doc's "source" links go there
]
# README.md is included by index.md; _notebooks/ holds the notebooks offered for download, _api_modules.rst
# only tells autosummary which API pages to write (tools/docs.py writes both)
exclude_patterns = ['README.md', '**.ipynb_checkpoints', '_notebooks', '_api_modules.rst']

# Notebooks are committed with the outputs of a full run: render those, never execute.
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'      # `show_doc` output is Markdown: render it, math included
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_inline', 'colon_fence', 'deflist', 'linkify']
myst_linkify_fuzzy_links = False   # only addresses with their scheme (https://...): README.md or exp.nb_01 stay text
myst_heading_anchors = 3

autosummary_generate = ['_api_modules.rst']
# a module's `__all__` also lists what it re-exports from earlier ones: document only its own names
autodoc_default_options = {'members': True, 'member-order': 'bysource', 'ignore-module-all': True}
autodoc_typehints = 'signature'
add_module_names = False
default_role = 'literal'                # docstrings use Markdown's `code`; show it as code in reST too

html_theme = 'sphinx_book_theme'
html_title = cfg.title
html_static_path = ['_static']
html_css_files = ['course.css']
html_favicon = '_static/favicon.svg'    # without one, browsers ask the server for /favicon.ico (a 404)
html_copy_source = False
html_show_sourcelink = False
html_context = {'default_mode': 'auto'}   # the colour mode follows the system (unset, the theme logs an error)
html_theme_options = {
    'show_toc_level': 2,
    'show_navbar_depth': 1,
    'use_download_button': False,       # it would offer the processed notebook: each page links the real one
    'use_fullscreen_button': False,
    'home_page_in_toc': True,
    'navbar_persistent': [],            # one search field, in the sidebar (on a phone, the header's button)
}


def math_in_docstrings(app, what, name, obj, options, lines):
    "Docstrings write math the Markdown way, `$2x$`; reST wants :math:`2x`."
    lines[:] = [re.sub(r'(?<![`$\\])\$(?=\S)([^$`\n]+?)(?<=\S)\$', r':math:`\1`', line) for line in lines]


def link_plots(app, doctree, docname):
    "A plot in a notebook's output links to its image file: a click shows it at full size, to zoom into."
    from sphinx.util.osutil import relative_uri
    if app.builder.format != 'html': return
    imgpath = relative_uri(app.builder.get_target_uri(docname), '_images')
    for img in list(doctree.findall(nodes.image)):
        if isinstance(img.parent, nodes.reference) or img['uri'] not in app.env.images: continue
        if not any('cell_output' in p.get('classes', []) for p in _ancestors(img)): continue
        ref = nodes.reference('', '', internal=True, classes=['plot-link'],
                              refuri=posixpath.join(imgpath, app.env.images[img['uri']][1]))
        img.replace_self(ref)
        ref.append(img)


def is_table(text):
    "Does a cell's text output line up columns with runs of spaces, as a table does (most of its lines, two at least)? A printed tensor or array does not count."
    lines = [l for l in text.splitlines() if l.strip()]
    if re.match(r'\(?(tensor|array|Parameter)\(', text.lstrip()): return False
    return len(lines) >= 2 and sum(bool(re.search(r'\S {2,}\S', l)) for l in lines) >= max(2, len(lines) / 2)


def mark_tables(app, doctree, docname):
    "A cell's text output that is a table gets the class `table-like`: the CSS lets it scroll sideways rather than wrap its columns."
    for block in doctree.findall(nodes.literal_block):
        if 'output' in block.get('classes', []) and is_table(block.astext()): block['classes'].append('table-like')


def _about_2019(node):
    "Is `node` in a section about the 2019 lessons, whose notebooks have this course's names (`01_matmul`)?"
    return any(isinstance(p, nodes.section) and len(p) and isinstance(p[0], nodes.title) and '2019' in p[0].astext() for p in _ancestors(node))


def link_lessons(app, doctree, docname):
    "A notebook named as code in the text (`00b_measure`) links to its page, as the functions named beside it do; not in a section about the 2019 lessons, where the name is 2019's notebook."
    if app.builder.format != 'html': return
    lessons = {d for d in app.env.found_docs if re.fullmatch(r'\d\w*', d)}
    for lit in list(doctree.findall(nodes.literal)):
        name = lit.astext()
        if name not in lessons or name == docname or any(isinstance(p, nodes.reference) for p in _ancestors(lit)): continue
        if _about_2019(lit): continue
        ref = nodes.reference('', '', internal=True, refuri=app.builder.get_relative_uri(docname, name))
        lit.replace_self(ref)
        ref.append(lit)


def break_names_in_tables(app, doctree, docname):
    """Code in a table may break after `_`, `.` and `/` (a `<wbr>` there), and nowhere else: on a phone a name such as
    `01b_inside_the_operator` then wraps as `01b_inside_` / `the_operator`, not wherever a narrow column ends."""
    if app.builder.format != 'html': return
    for lit in list(doctree.findall(nodes.literal)):
        if not any(isinstance(p, nodes.table) for p in _ancestors(lit)): continue
        for text in list(lit.findall(nodes.Text)):
            pieces = re.findall(r'[^_./]*[_./]|[^_./]+', str(text))
            if len(pieces) < 2: continue
            parent,at = text.parent,text.parent.index(text)
            parent.remove(text)
            for i,piece in enumerate(pieces):
                parent.insert(at + 2 * i, nodes.Text(piece))
                if i < len(pieces) - 1: parent.insert(at + 2 * i + 1, nodes.raw('', '<wbr>', format='html'))


def _ancestors(node):
    while (node := node.parent) is not None: yield node


class _MainText(HTMLParser):
    """The text of a page's `[role=main]` element, as the small HTML document Sphinx's search reads its excerpts
    from: the text, and an empty-tagged element for each id (the anchors of search results)."""
    VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.stack, self.depth, self.skip = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID: return
        a = dict(attrs)
        if self.depth is None:
            if a.get('role') == 'main': self.depth = len(self.stack)
            else: return self.stack.append(None)
        classes = (a.get('class') or '').split()
        page_chrome = {'headerlink', 'bd-header-article', 'onlyprint'} & set(classes)   # the ¶ links, the colour-mode menu, the printed contents
        if self.skip is None and (tag in ('script', 'style') or page_chrome): self.skip = len(self.stack)
        tagged = 'id' in a and self.skip is None
        if tagged: self.out.append(f'<div id="{html.escape(a["id"])}">')
        self.stack.append(tagged)

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.stack: return
        tagged = self.stack.pop()
        if self.skip == len(self.stack): self.skip = None
        if tagged: self.out.append('</div>')
        if self.depth == len(self.stack): self.depth = None

    def handle_data(self, data):
        if self.depth is not None and self.skip is None and data.strip():
            self.out.append(html.escape(' '.join(re.sub(r'\\[()\[\]]', '', data).split())) + ' ')   # math without MathJax's \( \)

    @classmethod
    def of(cls, text):
        p = cls()
        p.feed(text)
        return '<div role="main">' + ''.join(p.out) + '</div>'


def search_texts(app, exc):
    """Sphinx's search shows an excerpt of each page found, which it `fetch`es: a browser refuses that to a page
    opened from disk. So each page's text also ships as a script, `_static/search-text/PAGE.js`, which
    `course-search.js` loads instead when the site is opened from disk."""
    if exc or app.builder.format != 'html': return
    out = Path(app.outdir)
    (out/'_static/search-text').mkdir(parents=True, exist_ok=True)
    for docname in app.env.found_docs:
        page = out/(docname + app.builder.out_suffix)
        if not page.is_file(): continue
        text = _MainText.of(page.read_text(encoding='utf-8'))
        js = f'courseSearchText({json.dumps(docname)}, {json.dumps(text)});\n'
        (out/'_static/search-text'/(docname.replace('/', '--') + '.js')).write_text(js, encoding='utf-8')


def search_page_scripts(app, pagename, templatename, context, doctree):
    if pagename == 'search': app.add_js_file('course-search.js')


def setup(app):
    app.connect('autodoc-process-docstring', math_in_docstrings)
    app.connect('doctree-resolved', link_plots)
    app.connect('doctree-resolved', mark_tables)
    app.connect('doctree-resolved', link_lessons)
    app.connect('doctree-resolved', break_names_in_tables)   # after link_lessons, which reads each name whole
    app.connect('html-page-context', search_page_scripts)
    app.connect('build-finished', search_texts)
