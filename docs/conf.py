"""Sphinx configuration for the fastinit documentation.

The pages document the installed package (with its compiled core): build
them with the environment that has fastinit and the ``docs`` extra installed
(Sphinx, numpydoc, pydata-sphinx-theme and every framework the reference
imports: torch, dask, JAX and Keras), e.g. from the repository root::

    .venv/bin/sphinx-build -W --keep-going -b html docs /tmp/fastinit-docs
    .venv/bin/sphinx-build -W --keep-going -b doctest docs /tmp/fastinit-docs-doctest

(``python -m sphinx`` works too, from any folder but the repository root,
where Python would import the source folder, which has no compiled core.)
"""

import os

# fastinit.keras imports Keras 3, which picks its backend at import time.
os.environ.setdefault("KERAS_BACKEND", "jax")

import fastinit  # noqa: E402  (the installed package, not a path hack)

project = "fastinit"
author = "fastinit developers"
copyright = "2026, fastinit developers"  # as LICENSE
version = release = fastinit.__version__

import sys  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))  # performance.py

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "numpydoc",
    "performance",  # docs/_ext/performance.py: the performance page from docs/performance/*.json
]

root_doc = "index"
exclude_patterns = ["_build", "performance/generated"]  # included by performance.rst, not pages of their own
templates_path = ["_templates"]  # autosummary/class.rst: a class and its own methods

# autosummary writes one stub page per public name, under
# reference/generated/ (git-ignored: docs/.gitignore).
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"

# fastinit.keras has names that differ only in case (Zeros and zeros, Keras'
# two spellings): give the second of each its own stub file name, so that the
# stubs do not overwrite each other on a case-insensitive file system.
def _case_safe_filenames():
    import importlib

    seen, mapping = {}, {}
    for module in ("fastinit", "fastinit.torch", "fastinit.dask", "fastinit.jax", "fastinit.keras",
                   "fastinit.diagnostics", "fastinit.model"):
        for name in importlib.import_module(module).__all__:
            full = f"{module}.{name}"
            n = seen[full.lower()] = seen.get(full.lower(), 0) + 1
            if n > 1:
                mapping[full] = f"{full}-{n}"  # fastinit.keras.zeros-2.rst beside fastinit.keras.Zeros.rst
    return mapping


autosummary_filename_map = _case_safe_filenames()

# numpydoc: a class page documents its methods in full
# (_templates/autosummary/class.rst); numpydoc's own members table would
# repeat them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"fastinit {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# |stream_version| in the pages: the installed core's, never a copy.
rst_epilog = f"\n.. |stream_version| replace:: {fastinit.STREAM_VERSION}\n"

# The quick start's doctests (``python -m sphinx -b doctest docs OUT``).
doctest_global_setup = "import numpy as np\nimport fastinit\n"
# Only the pages' ``.. doctest::`` blocks run; docstring examples (Keras'
# inherited ones among them) are not written against this setup.
doctest_test_doctest_blocks = ""


# ------------------------------------------------------------------ docstrings
# fastinit's docstrings name torch's in-place functions as torch spells them
# (kaiming_normal_, trunc_normal_, ...).  In reST a word ending in "_" is a
# hyperlink reference, so each such word, outside inline literals, literal
# blocks and doctests, is escaped to plain text before parsing.  Nothing else
# is rewritten: any other broken markup still fails the build.

import re  # noqa: E402
import warnings  # noqa: E402

_LITERAL = re.compile(r"(``.*?``)")
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w`\\])(\w+?)(_+)(?![\w`])")


def _escape_trailing_underscores(line: str) -> str:
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):  # the even parts are outside ``...``
        parts[i] = _TRAILING_UNDERSCORE.sub(lambda m: m[1] + "\\_" * len(m[2]), parts[i])
    return "".join(parts)


def _process_docstring(app, what, name, obj, options, lines):
    literal_indent = None  # the indent of the paragraph that opened a literal block
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith(">>>") or stripped.startswith("..."):
            continue
        lines[i] = _escape_trailing_underscores(line)
        if stripped.endswith("::"):
            literal_indent = indent


def setup(app):
    # numpydoc reports an unknown section with a Python warning and drops the
    # section's text; make it a Sphinx warning, so that -W fails on it.
    from sphinx.util import logging as sphinx_logging

    logger = sphinx_logging.getLogger("numpydoc")
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if "numpydoc" in str(filename):
            logger.warning("numpydoc: %s", message)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    # Before numpydoc's own handler (priority 500), so that it parses the
    # escaped text.
    app.connect("autodoc-process-docstring", _process_docstring, priority=100)
