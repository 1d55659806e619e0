"""The thread policy of a build without OpenMP (Apple clang without libomp,
or -DFASTINIT_OPENMP=OFF): the core fills on threads of its own and
fastinit's own per-Python-thread setting decides how many.  The C side
(runner and helper threads giving the same bytes on any count) is checked
by tests/cross/aarch64.sh, which builds the core without OpenMP too; here a
stand-in for the compiled core reports such a build to the policy."""

from __future__ import annotations

import threading

import pytest

from fastinit._backends import threads
from fastinit._tools import config as _config


class _CoreWithout:
    """The compiled core as a build without OpenMP reports itself."""

    def __init__(self, real, kind):
        self._real, self._kind = real, kind

    def __getattr__(self, name):
        return getattr(self._real, name)

    def threading(self):
        return self._kind

    def openmp_version(self):
        return 0

    def openmp_max_threads(self):
        return 1

    def openmp_set_threads(self, n):
        raise AssertionError("a build without OpenMP has no OpenMP setting to change")


@pytest.fixture(params=["pthreads", "none"])
def without_openmp(request, monkeypatch):
    monkeypatch.setattr(threads, "_core", _CoreWithout(threads._core, request.param))
    monkeypatch.setattr(_config, "_core", _CoreWithout(_config._core, request.param))
    monkeypatch.setattr(threads, "_own", threading.local())
    monkeypatch.setattr(threads, "cpu_limit", lambda: 8)
    return request.param


@pytest.mark.parametrize("env,want", [(None, 8), ("3", 3), ("2,1", 2), ("64", 8), ("0", 8), ("x", 8), ("", 8)])
def test_default_follows_omp_num_threads_capped_to_the_cpus(without_openmp, monkeypatch, env, want):
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    assert threads.get_num_threads() == (want if without_openmp == "pthreads" else 1)


def test_set_num_threads_is_per_python_thread(without_openmp, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if without_openmp == "none":
        threads.set_num_threads(1)  # the one count a serial build runs
        with pytest.raises(RuntimeError, match="without threads"):
            threads.set_num_threads(2)
        assert threads.get_num_threads() == 1
        return
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3
    threads.set_num_threads(100)  # capped to the usable CPUs
    assert threads.get_num_threads() == 8 and threads._setting() == 8
    seen = []
    t = threading.Thread(target=lambda: seen.append(threads.get_num_threads()))
    t.start()
    t.join()
    assert seen == [8]  # another Python thread starts from the default
    threads.set_num_threads(2)
    assert threads.threads_for(10 * threads._BLOCK) == 2
    assert threads.threads_for(threads.SERIAL_BELOW - 1) == 1


def test_setting_and_restore_round_trip(without_openmp, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    before = threads._setting()
    assert before == (5 if without_openmp == "pthreads" else 1)
    if without_openmp == "pthreads":
        threads.set_num_threads(2)
        assert threads._setting() == 2
    threads._restore(before)
    assert threads._setting() == before


def test_bad_counts_are_refused_naming_the_argument(without_openmp):
    for bad, err in ((0, ValueError), (-1, ValueError), (2.5, TypeError), ("2", TypeError)):
        with pytest.raises(err, match="n"):
            threads.set_num_threads(bad)


def test_show_config_says_how_fills_run(without_openmp):
    c = _config.config()
    assert c["threading"] == without_openmp
    assert c["openmp"] == {"pthreads": "no (fills on threads of the core's own)",
                           "none": "no (serial build: one thread)"}[without_openmp]
