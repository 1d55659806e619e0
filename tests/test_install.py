"""The suite must test the built package, not the source folder."""

import pathlib

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
        import pytest

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
