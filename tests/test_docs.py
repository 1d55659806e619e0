"""The documentation site (docs/): every public name is in the API reference,
and the Sphinx build passes with warnings as errors.

The first tests read the .rst sources only (no Sphinx needed); the builds
run where Sphinx, numpydoc and the theme are installed (the `docs` extra)
and are skipped elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

# Keras picks its backend at its first import; docs/conf.py uses JAX's.
os.environ.setdefault("KERAS_BACKEND", "jax")

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
REFERENCE = DOCS / "reference"

PUBLIC_MODULES = ("fastinit", "fastinit.torch", "fastinit.dask", "fastinit.jax", "fastinit.keras",
                  "fastinit.diagnostics", "fastinit.model")
# What importing each module needs beyond fastinit itself.
NEEDS = {"fastinit.torch": "torch", "fastinit.dask": "dask", "fastinit.jax": "jax", "fastinit.keras": "keras"}

pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="no docs/ beside the tests")

_MODULE = re.compile(r"^\.\. (?:module|currentmodule|py:module|py:currentmodule)::\s*(\S+)\s*$")
_AUTOSUMMARY = re.compile(r"^(\s*)\.\. autosummary::\s*$")


def documented_names() -> dict[str, set[str]]:
    """{module: names} of every autosummary entry under docs/reference,
    each entry resolved against the module the page last named (a
    ``.. module::`` or ``.. currentmodule::``)."""
    found: dict[str, set[str]] = {}
    for page in sorted(REFERENCE.rglob("*.rst")):
        if "generated" in page.relative_to(REFERENCE).parts:
            continue  # autosummary's own stubs, written by a build
        module = None
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = _MODULE.match(lines[i])
            if m:
                module = m[1]
            a = _AUTOSUMMARY.match(lines[i])
            i += 1
            if not a:
                continue
            indent = len(a[1])
            while i < len(lines):
                line = lines[i]
                stripped = line.strip()
                if stripped and len(line) - len(line.lstrip()) <= indent:
                    break  # the directive's content ended
                i += 1
                if not stripped or stripped.startswith(":") or stripped.startswith(".."):
                    continue  # a blank line, an option (:toctree:), a comment
                entry = stripped.split()[0].lstrip("~")
                owner, _, name = entry.rpartition(".")
                if not owner or owner not in PUBLIC_MODULES:
                    owner, name = module, entry
                assert owner, f"{page.name}: autosummary entry {entry!r} before any module directive"
                found.setdefault(owner, set()).add(name)
    return found


def public_names(module) -> list[str]:
    """A module's ``__all__``, or where it has none its public classes and
    callables."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
                 and getattr(getattr(module, n), "__module__", "").startswith(module.__name__)]
    return list(names)


def _import(name: str):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    return importlib.import_module(name)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_reference(name):
    module = _import(name)
    documented = documented_names().get(name, set())
    missing = [n for n in public_names(module) if n not in documented]
    assert not missing, f"{name}: public names missing from docs/reference: {', '.join(missing)}"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_the_reference_lists_only_public_names(name):
    module = _import(name)
    extra = sorted(documented_names().get(name, set()) - set(public_names(module)))
    assert not extra, f"{name}: docs/reference lists names that are not public: {', '.join(extra)}"


def test_the_reference_covers_every_public_module():
    assert set(documented_names()) == set(PUBLIC_MODULES)


def _sphinx(builder: str, out: pathlib.Path) -> subprocess.CompletedProcess:
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("pydata_sphinx_theme")
    # The reference imports every public module (in the build's own process).
    absent = [m for m in NEEDS.values() if importlib.util.find_spec(m) is None]
    if absent:
        pytest.skip(f"the docs build imports every public module; not installed: {', '.join(absent)}")
    # In a subprocess from tmp_path: a fresh interpreter imports the installed
    # fastinit, and Sphinx's state stays out of this one.
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", builder,
                           str(DOCS), str(out)], cwd=out.parent, capture_output=True, text=True, timeout=900)
    return proc


def test_the_html_build_passes_with_warnings_as_errors(tmp_path):
    proc = _sphinx("html", tmp_path / "html")
    assert proc.returncode == 0, f"sphinx -W -b html failed:\n{proc.stderr[-20000:]}"
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "fastinit" in index
    for name in ("fastinit.he_normal", "fastinit.torch.kaiming_normal_", "fastinit.keras.zeros-2"):
        assert (tmp_path / "html" / "reference" / "generated" / f"{name}.html").is_file(), name


def test_the_quick_start_doctests_pass(tmp_path):
    proc = _sphinx("doctest", tmp_path / "doctest")
    report = (tmp_path / "doctest" / "output.txt")
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    assert proc.returncode == 0, f"sphinx -b doctest failed:\n{text}\n{proc.stderr[-20000:]}"
    assert re.search(r"^\s*[1-9]\d* tests\s*$", text, re.M), text  # the doctests ran


def _performance_ext():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_performance", DOCS / "_ext" / "performance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_performance_page_shows_every_kept_run_as_it_was_measured(tmp_path):
    """Each `fastinit bench --json` file in docs/performance/ becomes a
    section whose tables hold that run's medians and ratios, as the text
    report computes them (no Sphinx needed)."""
    import json
    import shutil

    from fastinit._tools import bench

    kept = sorted((DOCS / "performance").glob("*.json"))
    assert kept, "no bench --json file kept for the performance page"
    for f in kept:
        shutil.copy(f, tmp_path / f.name)
    text = _performance_ext().generate(tmp_path, figures=False).read_text()
    for f in kept:
        res = json.loads(f.read_text())
        assert {"machine", "size", "repeat", "rows", "threads", "simd_paths"} <= set(res)
        assert f"docs/performance/{f.name}" in text and res["machine"]["cpu"] in text
        for r in res["rows"]:
            assert f"``{r['method']}``" in text and f"{r['melem_s']:.0f}" in text, r["method"]
        for what, got in bench.comparison(res):
            assert f"``{what}``" in text and ("n/a" if got is None else f"{got:.2f}x") in text
