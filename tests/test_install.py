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
