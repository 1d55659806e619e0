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
from features import need, required  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import fastinit  # noqa: E402
from fastinit._backends import simd as _simd  # noqa: E402
from fastinit._backends import threads as _threads

# Property tests: derandomized (the same examples on every run, so CI is
# reproducible); --hypothesis-profile=long runs 5000 examples each.
_COMMON = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
settings.register_profile("default", max_examples=300, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
settings.load_profile("default")

ALL_SIMD = ("generic", "avx2", "avx512")


def pytest_configure(config):
    try:
        required()
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


@pytest.fixture(params=ALL_SIMD)
def simd(request):
    """Each SIMD path in turn; skipped where this CPU or build lacks it (a
    failure where FASTINIT_REQUIRE requires it)."""
    need(request.param, f"SIMD path {request.param} not available here (have: {', '.join(_simd.available())})")
    with _simd.forced(request.param):
        yield request.param


@pytest.fixture
def threads():
    """Restore the thread setting after a test changes it: OpenMP's own
    value, exactly (get_num_threads() is capped to the usable CPUs)."""
    before = _threads._setting()
    yield
    _threads._restore(before)


# ------------------------------------------------ the state tests leave behind


def process_state():
    """What a test may change and must put back: OpenMP's thread setting
    (uncapped) and the SIMD path fills run on."""
    return {"threads": _threads._setting(), "simd": _simd.current_name()}


_LEAKS = []  # (module, before, after) for each module that changed the state


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_the_state_alone(request):
    before = process_state()
    yield
    after = process_state()
    if after != before:
        _LEAKS.append((request.node.nodeid, before, after))


@pytest.fixture(scope="session", autouse=True)
def _suite_ends_in_the_state_it_started_in():
    """The suite ends on the thread setting and SIMD path it started with,
    and no module changed them for the modules after it (a failure here is
    reported as an error at teardown of the last test)."""
    before = process_state()
    yield
    after = process_state()
    if after != before or _LEAKS:
        lines = [f"{mod}: {b} -> {a}" for mod, b, a in _LEAKS]
        pytest.fail(f"the suite started with {before} and ended with {after}; changed by:\n  "
                    + ("\n  ".join(lines) or "(unknown)"), pytrace=False)

