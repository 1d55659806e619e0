"""_simd.forced(name) changes the SIMD path of the calling thread (or
asyncio task) alone: threads forcing different paths at once keep their
own, each block puts back what was there before it, and the core's threads
follow the Python thread that started the fill."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import numpy as np
import pytest
from features import require_or_skip, required

import fastinit
from fastinit._backends import simd as _simd
from fastinit import _core

TIMEOUT = 30  # seconds a barrier waits before the test fails instead of hanging


@pytest.fixture
def two_paths():
    """(narrowest, widest) of the paths this CPU and build have; skipped
    where there is only one (a failure where FASTINIT_REQUIRE requires a
    second)."""
    paths = _simd.available()
    if len(paths) < 2:
        missing = [f for f in ("avx2", "avx512") if f in required()]
        require_or_skip(missing[0] if missing else "avx2",
                        f"only one SIMD path here ({', '.join(paths)}): nothing to force apart")
    return paths[0], paths[-1]


def _in_threads(*fns):
    """Run each fn on its own thread; re-raise the first exception any raised."""
    errors = []

    def run(fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - reported on the main thread
            errors.append(e)

    ts = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def _default_in_a_new_thread() -> str:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(_simd.current_name).result()


def test_a_thread_that_never_forces_uses_the_import_time_choice():
    default = _simd.current_name()
    assert _default_in_a_new_thread() == default
    assert _simd.current() == _simd.NAMES.index(default)


def test_two_threads_forcing_different_paths_keep_their_own(two_paths):
    """A enters, B enters, both check while the other is inside; then A
    leaves first while B is still inside (the order in which one global
    setting would give B A's "previous" and leave A's path behind)."""
    a, b = two_paths
    default = _simd.current_name()
    both_in = threading.Barrier(3, timeout=TIMEOUT)
    a_out = threading.Barrier(3, timeout=TIMEOUT)
    b_out = threading.Barrier(3, timeout=TIMEOUT)
    seen = {}

    def thread_a():
        with _simd.forced(a):
            both_in.wait()
            seen["a inside"] = _simd.current_name()
        seen["a after"] = _simd.current_name()
        a_out.wait()
        b_out.wait()
        seen["a at end"] = _simd.current_name()

    def thread_b():
        with _simd.forced(b):
            both_in.wait()
            seen["b inside"] = _simd.current_name()
            a_out.wait()  # A has left its block
            seen["b inside, A gone"] = _simd.current_name()
            assert _simd.current() == _simd.NAMES.index(b)
        b_out.wait()
        seen["b after"] = _simd.current_name()

    def main():
        both_in.wait()
        seen["main, both inside"] = _simd.current_name()
        a_out.wait()
        b_out.wait()

    _in_threads(thread_a, thread_b, main)
    assert seen == {"a inside": a, "a after": default, "a at end": default,
                    "b inside": b, "b inside, A gone": b, "b after": default,
                    "main, both inside": default}
    assert _simd.current_name() == default


def test_fills_on_a_forcing_thread_run_on_its_path(two_paths, monkeypatch):
    """Each thread's fills pass the core its own path while the other
    thread, on another path, fills at the same time."""
    a, b = two_paths
    calls = []
    real_fill = _core.fill

    def recording_fill(*args):
        calls.append((threading.get_ident(), _simd.NAMES[args[15]]))
        return real_fill(*args)

    monkeypatch.setattr(_core, "fill", recording_fill)
    both_in = threading.Barrier(2, timeout=TIMEOUT)
    idents = {}

    def on(path):
        def fn():
            with _simd.forced(path):
                idents[path] = threading.get_ident()
                both_in.wait()
                for _ in range(20):
                    fastinit.default_rng(1).standard_normal(1000, dtype="float32")
                both_in.wait()
        return fn

    _in_threads(on(a), on(b))
    by_thread = {}
    for ident, path in calls:
        by_thread.setdefault(ident, set()).add(path)
    assert by_thread == {idents[a]: {a}, idents[b]: {b}}


def test_nesting_restores_each_level(two_paths):
    a, b = two_paths
    default = _simd.current_name()
    with _simd.forced(a):
        assert _simd.current_name() == a
        with _simd.forced(b):
            assert _simd.current_name() == b
            with _simd.forced(a):
                assert _simd.current_name() == a
            assert _simd.current_name() == b
        assert _simd.current_name() == a
    assert _simd.current_name() == default


def test_an_exception_restores(two_paths):
    a, b = two_paths
    default = _simd.current_name()
    with pytest.raises(KeyError):
        with _simd.forced(a):
            with _simd.forced(b):
                raise KeyError("inner")
    assert _simd.current_name() == default
    with _simd.forced(b):
        with pytest.raises(KeyError):
            with _simd.forced(a):
                raise KeyError("inner")
        assert _simd.current_name() == b
    assert _simd.current_name() == default


@pytest.mark.parametrize("name", ["sse9", "", "avx-512", 3])
def test_an_unknown_name_is_a_value_error_and_changes_nothing(name):
    default = _simd.current_name()
    with pytest.raises(ValueError, match="unknown SIMD path"):
        with _simd.forced(name):
            pytest.fail("entered the block")
    assert _simd.current_name() == default
    inside = _simd.available()[0]
    with _simd.forced(inside):
        with pytest.raises(ValueError, match="unknown SIMD path"):
            with _simd.forced(name):
                pytest.fail("entered the block")
        assert _simd.current_name() == inside
    assert _simd.current_name() == default


def test_names_are_matched_as_the_environment_variable_is():
    default = _simd.current_name()
    with _simd.forced(" " + default.upper() + " "):
        assert _simd.current_name() == default


def test_a_path_this_cpu_lacks_is_a_runtime_error_and_changes_nothing(monkeypatch):
    default = _simd.current_name()
    missing = [n for n in _simd.NAMES if n not in _simd.available()]
    if not missing:  # everything is here: pretend this CPU lacks the widest path
        lacked = _simd.NAMES.index(_simd.NAMES[-1])
        real = _core.isa_supported
        monkeypatch.setattr(_core, "isa_supported", lambda i: i != lacked and real(i))
        missing = [_simd.NAMES[lacked]]
    inside = _simd.available()[0]
    for name in missing:
        with pytest.raises(RuntimeError, match="available here"):
            with _simd.forced(name):
                pytest.fail("entered the block")
        assert _simd.current_name() == default
        with _simd.forced(inside):
            with pytest.raises(RuntimeError, match="available here"):
                with _simd.forced(name):
                    pytest.fail("entered the block")
            assert _simd.current_name() == inside
    monkeypatch.undo()
    assert _simd.current_name() == default


def test_forcing_on_the_main_thread_leaves_other_threads_alone(two_paths):
    default = _simd.current_name()
    other = two_paths[0] if default != two_paths[0] else two_paths[1]
    with _simd.forced(other):
        assert _simd.current_name() == other
        assert _default_in_a_new_thread() == default
    assert _simd.current_name() == default


@pytest.mark.parametrize("n", [10000, 1 << 18 | 3], ids=["serial", "openmp"])
def test_values_filled_on_a_forcing_thread_equal_the_default_paths(n):
    """Every path, forced on another thread, gives the default path's bits
    (the larger fill runs on the core's threads, which get the path from
    the Python thread that started it)."""
    want = fastinit.default_rng(1).standard_normal(n, dtype="float32")
    got = {}

    def on(path):
        def fn():
            with _simd.forced(path):
                got[path] = fastinit.default_rng(1).standard_normal(n, dtype="float32")
        return fn

    _in_threads(*(on(p) for p in _simd.available()))
    assert sorted(got) == sorted(_simd.available())
    for path, values in got.items():
        assert values.dtype == want.dtype
        np.testing.assert_array_equal(values.view(np.uint32), want.view(np.uint32), err_msg=path)


def test_asyncio_tasks_keep_their_own_path(two_paths):
    a, b = two_paths
    default = _simd.current_name()

    async def task(path, seen):
        with _simd.forced(path):
            for _ in range(5):
                await asyncio.sleep(0)  # the other task runs (and is inside its block) here
                seen.append(_simd.current_name())
        seen.append(_simd.current_name())

    async def main():
        sa, sb = [], []
        await asyncio.gather(task(a, sa), task(b, sb))
        return sa, sb, _simd.current_name()

    sa, sb, after = asyncio.run(main())
    assert sa == [a] * 5 + [default]
    assert sb == [b] * 5 + [default]
    assert after == default == _simd.current_name()
