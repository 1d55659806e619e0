"""Shared fixtures.  The tests exercise the *installed* fastinit (with its
compiled core), never the source folder beside them: see test_install.py."""

from __future__ import annotations

import pathlib
import sys

# `python -m pytest` puts the working directory on sys.path; from the
# repository root that would shadow the installed package with the source
# folder, which has no compiled core.  Take it off before anything imports.
_ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != _ROOT]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/reference.py

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import fastinit  # noqa: E402
from fastinit import _simd  # noqa: E402

# Property tests: derandomized (the same examples on every run, so CI is
# reproducible); --hypothesis-profile=long runs 5000 examples each.
_COMMON = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
settings.register_profile("default", max_examples=300, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
settings.load_profile("default")

ALL_SIMD = ("generic", "avx2", "avx512")


@pytest.fixture(params=ALL_SIMD)
def simd(request):
    """Each SIMD path in turn; skipped where this CPU or build lacks it."""
    if request.param not in _simd.available():
        pytest.skip(f"SIMD path {request.param} not available here (have: {', '.join(_simd.available())})")
    with _simd.forced(request.param):
        yield request.param


@pytest.fixture
def threads():
    """Restore the thread count after a test changes it."""
    before = fastinit.get_num_threads()
    yield
    fastinit.set_num_threads(before)

