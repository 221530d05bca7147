"""Sphinx configuration of the course website (`make site`, scripts/build_site.py).

Why Sphinx with myst-nb and sphinx-book-theme, not Jupyter Book 2 or nbconvert: the site must build
and read offline. Jupyter Book 2's HTML build fetches its theme from a web service while it builds
(tried: it fails offline); nbconvert's pages loaded require.js and MathJax from a CDN and inlined
300-600 KB of CSS each, with no sidebar and no search. Sphinx, myst-nb and sphinx-book-theme build
from their pip packages alone and ship every file a page loads (theme CSS and JS, fonts, Sphinx's
own offline search index), so `build/site/` opens from the disk with no network.

scripts/build_site.py stages the pages (README's syllabus as index.md, the executed lessons, the lab
starters) in a folder of its own and builds them with this file as the configuration folder:
nothing here executes a notebook.
"""

project = "High-concurrency web services with ASGI and FastAPI, measured"
html_title = "ASGI and FastAPI, measured"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build"]

# The lessons arrive executed (build/executed/, from `make test`) and the labs as starters: never run them.
nb_execution_mode = "off"
# myst-nb adds require.js and the widget manager from a CDN to a page with widget state: none here.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
# Math is left out: Sphinx would load MathJax from a CDN for a page with math. No `$...$` parsing
# (myst's dollarmath stays off) and a LaTeX output shows as its plain-text form.
myst_enable_extensions: list[str] = []
nb_mime_priority_overrides = [("html", "text/latex", None)]
# Links to a lesson's headings (`other.ipynb#some-heading`) resolve to Sphinx's anchors.
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,  # "Contents" on each page: its sections and their subsections
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "launch_buttons": {},
    "navigation_with_keys": False,
}
html_copy_source = False  # the executed notebooks stay in build/executed/, not in the site
html_show_sourcelink = False
html_last_updated_fmt = None
