"""Sphinx configuration of the course website. Build it with `make docs` (tools/docs.py), not sphinx-build:
the notebooks are first prepared by nbdev's processors into a work folder that becomes the Sphinx source."""
import re, sys
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
]
exclude_patterns = ['README.md', '**.ipynb_checkpoints']   # README.md is included by index.md

# Notebooks are committed with the outputs of a full run: render those, never execute.
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'      # `show_doc` output is Markdown: render it, math included
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_inline', 'colon_fence', 'deflist']
myst_heading_anchors = 3

autosummary_generate = True
# a module's `__all__` also lists what it re-exports from earlier ones: document only its own names
autodoc_default_options = {'members': True, 'member-order': 'bysource', 'ignore-module-all': True}
autodoc_typehints = 'signature'
add_module_names = False
default_role = 'literal'                # docstrings use Markdown's `code`; show it as code in reST too

html_theme = 'sphinx_book_theme'
html_title = cfg.title
html_static_path = ['_static']
html_css_files = ['course.css']
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    'show_toc_level': 2,
    'show_navbar_depth': 1,
    'use_download_button': False,
    'use_fullscreen_button': False,
    'home_page_in_toc': True,
}


def math_in_docstrings(app, what, name, obj, options, lines):
    "Docstrings write math the Markdown way, `$2x$`; reST wants :math:`2x`."
    lines[:] = [re.sub(r'(?<![`$\\])\$(?=\S)([^$`\n]+?)(?<=\S)\$', r':math:`\1`', line) for line in lines]


def setup(app):
    app.connect('autodoc-process-docstring', math_in_docstrings)
