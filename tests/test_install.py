"""The suite must test the built package, not the source folder."""

import importlib.machinery
import pathlib

import pytest

import fastinit
from fastinit import _core


def test_compiled_core_is_the_one_beside_the_imported_package():
    pkg = pathlib.Path(fastinit.__file__).resolve().parent
    assert pathlib.Path(_core.__file__).resolve().parent == pkg
    assert pathlib.Path(_core.__file__).suffix in (".so", ".pyd")


def test_imported_package_is_not_an_unbuilt_source_tree():
    # The repository's fastinit/ holds no compiled module; an installed (or
    # editable, built) package does.
    pkg = pathlib.Path(fastinit.__file__).resolve().parent
    assert any(p.name.startswith("_core.") and p.suffix in (".so", ".pyd") for p in pkg.iterdir())


def test_the_wheel_ships_py_typed_and_stubs_matching_the_core():
    import ast
    import inspect

    pkg = pathlib.Path(fastinit.__file__).resolve().parent
    assert (pkg / "py.typed").is_file()
    stub = ast.parse((pkg / "_core.pyi").read_text())
    funcs = {n.name: n for n in stub.body if isinstance(n, ast.FunctionDef)}
    consts = {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert set(funcs) | consts == public
    for name, node in funcs.items():
        sig = inspect.signature(getattr(_core, name))
        args = node.args.args
        assert [a.arg for a in args] == list(sig.parameters), name
        defaults = [ast.literal_eval(d) for d in node.args.defaults]
        assert defaults == [p.default for p in sig.parameters.values() if p.default is not p.empty], name


def test_license_and_changelog():
    root = pathlib.Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").exists():
        pytest.skip("not a source checkout")
    import tomllib

    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    license_text = (root / "LICENSE").read_text()
    assert meta["license"]["text"] == "BSD-3-Clause"
    assert license_text.startswith("BSD 3-Clause License") and "fastinit developers" in license_text
    assert "Neither the name of the copyright holder" in license_text  # the third clause
    log = (root / "CHANGELOG.md").read_text()
    assert "## Unreleased" in log and f"## {meta['version']}: stream version 1" in log
    for v in range(2, fastinit.STREAM_VERSION + 1):  # every later stream version is recorded
        assert f"Stream version {v}" in log


@pytest.mark.parametrize("flags", [[], ["-S"]], ids=["site", "no-site"])
def test_import_from_the_repository_root_says_what_to_do(flags):
    """From the repository root, `python -c "import fastinit"` finds the
    source folder first: it holds the type stub _core.pyi but no compiled
    core, and the error says so and what to do instead.  (-S: no site
    packages, so no editable install can supply the core either.)"""
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    src = root / "fastinit"
    if not (src / "__init__.py").is_file():
        pytest.skip("not a source checkout")
    if any((src / f"_core{s}").is_file() for s in importlib.machinery.EXTENSION_SUFFIXES):
        pytest.skip("the source folder holds a compiled core (an in-place build)")
    assert (src / "_core.pyi").is_file()  # the stub that must not pass for a compiled core
    p = subprocess.run([sys.executable, *flags, "-c", "import fastinit; print(fastinit._core.__file__)"], cwd=root,
                       capture_output=True, text=True, timeout=120)
    editable = pathlib.Path(fastinit.__file__).resolve().parent == src.resolve()
    if p.returncode == 0:
        # only an editable install may supply the core to the source folder
        assert editable and not flags, p.stdout
        return
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: "), p.stderr
    assert f"fastinit was imported from {src}, a source folder without the compiled core" in last
    assert "python -c puts the current folder first on sys.path" in last
    assert "Install fastinit and run from another folder, or use the `fastinit` command." in last
