"""The same bytes whatever the thread count, SIMD path or memory layout."""

import hashlib

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastinit
from features import need
from reference import bits

N = 3 * 2**20 + 5  # several scheduling blocks per thread, and a ragged end


def _fills(n=N):
    g = fastinit.default_rng(99)
    return {
        "raw": g.random_raw(n, stream=3, start=5),
        "normal_f32": g.normal(0.25, 1.5, n, dtype=np.float32, stream=3, start=5),
        "uniform_f32": g.uniform(-2, 7, n, dtype=np.float32, stream=3, start=5),
        "normal_f64": g.standard_normal(n // 3, stream=3, start=5),
        "uniform_f64": g.uniform(-2, 7, n // 3, stream=3, start=5),
        "normal_bf16": g.standard_normal(n, dtype="bfloat16", stream=3, start=5),
        "normal_f16": g.standard_normal(n, dtype=np.float16, stream=3, start=5),
    }


def _digest(fills):
    return {k: hashlib.sha256(bits(v).tobytes()).hexdigest() for k, v in fills.items()}


_SETTING_AT_IMPORT = fastinit._backends.threads._setting()  # collection time: before any test ran


def _serial(fn):
    """fn() on one thread; the thread setting is put back as it was."""
    from fastinit._backends import threads as _threads

    before = _threads._setting()
    fastinit.set_num_threads(1)
    try:
        return fn()
    finally:
        _threads._restore(before)


@pytest.fixture(scope="module")
def serial_digest():
    return _serial(lambda: _digest(_fills()))


def test_the_serial_digest_leaves_the_thread_setting_alone(serial_digest):
    assert fastinit._backends.threads._setting() == _SETTING_AT_IMPORT


def test_the_serial_digest_puts_the_thread_setting_back(threads, many_cpus):
    """Computing on one thread leaves the setting as it found it (it used to
    leave 1 behind, and every later test filled on one thread)."""
    from fastinit._backends import threads as _threads

    need("openmp", "serial build")
    fastinit.set_num_threads(3)
    inside, _ = _serial(lambda: (fastinit.get_num_threads(), _digest(_fills(1 << 16))))
    assert inside == 1
    assert _threads._setting() == 3 and fastinit.get_num_threads() == 3


@pytest.fixture
def many_cpus(monkeypatch):
    """Let thread counts above this machine's CPUs through (their values
    must not change either)."""
    from fastinit._backends import threads as _threads

    monkeypatch.setattr(_threads, "cpu_limit", lambda: 64)


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_thread_counts_give_identical_bytes(threads, many_cpus, serial_digest, n_threads):
    if n_threads > 1:
        need("openmp", "serial build")
    fastinit.set_num_threads(n_threads)
    assert fastinit.get_num_threads() == n_threads
    assert _digest(_fills()) == serial_digest


def test_threadpoolctl_limits_are_honoured(threads, many_cpus, serial_digest):
    need("openmp", "serial build")
    fastinit.set_num_threads(4)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert fastinit.get_num_threads() == 1
        assert _digest(_fills()) == serial_digest
    assert fastinit.get_num_threads() == 4


BLOCK = fastinit._core.ENGINE_BLOCK  # the engine's scheduling block (the contract's engine_block)


@pytest.mark.parametrize("n", [2 * BLOCK, 2 * BLOCK + 1, 17 * BLOCK - 3, 64 * BLOCK + 7, 517 * BLOCK + 1],
                         ids=lambda n: f"n{n}")
@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_chunks_taken_by_any_thread_give_the_serial_bytes(simd, n, kind):
    """Each thread fills its share of chunks, then takes what the others
    have left: whichever thread takes which chunk (one block to the largest
    chunk, ragged last chunks, more threads than chunks), every element gets
    its serial value."""
    need("openmp", "serial build")
    from fastinit._initializers import draws as _draws
    from fastinit._backends import simd as _simd
    from fastinit import _core

    code = {"uniform": _draws.UNIFORM, "normal": _draws.NORMAL}[kind]

    def fill(threads, segment=0):
        x = np.zeros(n, np.float32)
        _core.fill(x, code, _draws.dtype_code(x.dtype), -1.0, 2.0, 0.0, 0.0, -np.inf, np.inf, 7, 9, 5, 11,
                   None, threads, _simd.current(), segment, 0)
        return x

    serial = fill(1)
    assert np.unique(serial).size > n // 2  # really filled
    for threads in (2, 3, 5, 16):
        np.testing.assert_array_equal(fill(threads), serial, err_msg=f"{threads} threads")
    np.testing.assert_array_equal(fill(3, segment=5 * BLOCK + 3), serial, err_msg="segments")


def test_simd_paths_give_identical_bytes(simd, serial_digest):
    assert _digest(_fills()) == serial_digest


def test_small_fills_do_not_start_a_thread_team():
    from fastinit._backends import threads as _threads

    assert _threads.threads_for(4096) == 1
    assert _threads.threads_for(_threads.SERIAL_BELOW - 1) == 1


def test_thread_count_never_exceeds_the_usable_cpus(threads):
    """set_num_threads(10**6) is capped to the CPUs of the affinity mask and
    cgroup quota; the fill still gives the serial bytes."""
    from fastinit._backends import threads as _threads

    need("openmp", "serial build")
    fastinit.set_num_threads(10**6)
    assert fastinit.get_num_threads() == _threads.cpu_limit() <= len(__import__("os").sched_getaffinity(0))
    assert fastinit._core.openmp_max_threads() == _threads.cpu_limit()  # OpenMP's setting was capped too
    want = fastinit.default_rng(5).standard_normal(1 << 20, dtype=np.float32)
    fastinit.set_num_threads(1)
    np.testing.assert_array_equal(bits(fastinit.default_rng(5).standard_normal(1 << 20, dtype=np.float32)),
                                  bits(want))


def test_omp_num_threads_above_the_cpus_is_capped(tmp_path):
    import os
    import subprocess
    import sys

    code = "import fastinit, fastinit._backends.threads as t; print(fastinit.get_num_threads(), t.cpu_limit())"
    env = dict(os.environ, OMP_NUM_THREADS="1000")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path,
                         timeout=120, check=True).stdout.split()
    assert out[0] == out[1]
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path,
                         timeout=120, check=True).stdout.split()
    assert out[0] == "1"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_cgroup_cpu_quota_is_read_as_scikit_learn_reads_it(tmp_path, version):
    from fastinit._backends.threads import _cgroup_cpu_quota

    proc = tmp_path / "cgroup"
    if version == "v2":
        proc.write_text("0::/a/b\n")
        (tmp_path / "a" / "b").mkdir(parents=True)
        (tmp_path / "a" / "b" / "cpu.max").write_text("max 100000\n")
        (tmp_path / "a" / "cpu.max").write_text("250000 100000\n")  # a parent's quota binds
        assert _cgroup_cpu_quota(str(tmp_path), str(proc)) == 2.5
        (tmp_path / "a" / "cpu.max").write_text("max 100000\n")
        assert _cgroup_cpu_quota(str(tmp_path), str(proc)) is None
    else:
        proc.write_text("4:memory:/x\n3:cpu,cpuacct:/docker/c1\n")
        d = tmp_path / "cpu,cpuacct" / "docker" / "c1"
        d.mkdir(parents=True)
        (d / "cpu.cfs_quota_us").write_text("150000\n")
        (d / "cpu.cfs_period_us").write_text("100000\n")
        assert _cgroup_cpu_quota(str(tmp_path), str(proc)) == 1.5
        (d / "cpu.cfs_quota_us").write_text("-1\n")
        assert _cgroup_cpu_quota(str(tmp_path), str(proc)) is None
    assert _cgroup_cpu_quota(str(tmp_path), str(tmp_path / "missing")) is None


def test_set_num_threads_rejects_bad_values():
    with pytest.raises(ValueError, match="n must be at least 1"):
        fastinit.set_num_threads(0)
    with pytest.raises(TypeError, match="n must be an int"):
        fastinit.set_num_threads(2.0)


# ------------------------------------------------------------------ layouts


# Non-contiguous views: (name, shape of the backing array, view of it).
VIEWS = [
    ("transposed", lambda s: s[::-1], lambda b: b.T),
    ("strided", lambda s: (s[0], 3 * s[1]), lambda b: b[:, ::3]),
    ("reversed", lambda s: s, lambda b: b[::-1, ::-1]),
    ("sliced", lambda s: (2 * s[0], s[1] + 7), lambda b: b[1::2, 3:3 + (b.shape[1] - 7)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"], ids=str)
@pytest.mark.parametrize("shape", [(37, 1029), (1, 5), (300, 1)])
@pytest.mark.parametrize("name,backing,view", VIEWS, ids=[v[0] for v in VIEWS])
def test_non_contiguous_out_gets_the_contiguous_values(simd, dtype, shape, name, backing, view):
    dt = fastinit._validate.as_dtype(dtype)
    want = fastinit.default_rng(5).normal(1, 2, shape, dtype=dt, stream=11)
    base = np.full(backing(shape), 7, dtype=dt)
    touched = np.zeros(base.shape, dtype=bool)
    view(touched)[...] = True
    out = view(base)
    assert out.shape == shape and not out.flags.c_contiguous or shape[0] == 1 or shape[1] == 1
    assert fastinit.default_rng(5).normal(1, 2, out=out, stream=11) is out
    np.testing.assert_array_equal(bits(out), bits(want))
    assert (base[~touched].astype(np.float32) == 7).all()  # nothing outside the view was written


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"], ids=str)
def test_misaligned_out(simd, dtype):
    """A view at an odd byte offset (unaligned for its type) is filled right."""
    dt = fastinit._validate.as_dtype(dtype)
    raw = np.zeros(1001 * dt.itemsize + 1, dtype=np.uint8)
    out = raw[1:].view(dt)
    assert not out.flags.aligned
    fastinit.default_rng(5).standard_normal(out=out, stream=4)
    want = fastinit.default_rng(5).standard_normal(1001, dtype=dt, stream=4)
    np.testing.assert_array_equal(bits(out), bits(want))
    assert raw[0] == 0


def test_zero_d_and_empty_out(simd):
    g = fastinit.default_rng(1)
    z = np.zeros((), dtype=np.float32)
    g.standard_normal(out=z, stream=2)
    assert z == g.standard_normal(1, dtype=np.float32, stream=2)[0]
    e = np.zeros((0, 5), dtype=np.float32)
    assert g.standard_normal(out=e).shape == (0, 5)


# ------------------------------------------------ the state tests leave behind


LEAK = """
import fastinit
from fastinit._backends import simd as _simd, threads as _threads


def test_leaves_the_thread_setting_changed():
    _threads._restore(_threads._setting() + 1)
"""

NO_LEAK = """
import fastinit
from fastinit._backends import simd as _simd


def test_puts_everything_back(threads, simd):
    fastinit.set_num_threads(1)
"""


@pytest.mark.parametrize("leak", [False, True], ids=["clean", "leak"])
def test_a_suite_that_changes_the_thread_setting_fails(tmp_path, leak):
    """tests/conftest.py fails the run (an error at teardown of the last
    test, naming the module) when a test leaves the thread setting changed;
    its fixtures that change the setting or the SIMD path put them back."""
    import os
    import pathlib
    import shutil
    import subprocess
    import sys

    here = pathlib.Path(__file__).resolve().parent
    for f in ("conftest.py", "features.py"):
        shutil.copy(here / f, tmp_path / f)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a_clean.py").write_text(NO_LEAK)
    if leak:
        (tmp_path / "test_b_leak.py").write_text(LEAK)
    env = {k: v for k, v in os.environ.items() if k not in ("FASTINIT_REQUIRE", "FASTINIT_SIMD")}
    # OpenMP's setting above the usable CPUs: the `threads` fixture must put
    # back that setting, not the capped count get_num_threads() reports
    env["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)) + 3)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not avx512 and not avx2",
                        str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    if not leak:
        assert p.returncode == 0, p.stdout + p.stderr
        return
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ERROR at teardown of test_leaves_the_thread_setting_changed" in p.stdout
    assert "test_b_leak.py: {'threads':" in p.stdout
    assert "1 error" in p.stdout.splitlines()[-1]


# ------------------------------------------- what CI requires (FASTINIT_REQUIRE)


def test_the_build_has_openmp():
    """fastinit's threads are OpenMP's: a build without it fills on one
    thread.  Skipped there, a failure where FASTINIT_REQUIRE names openmp
    (CI on Linux)."""
    need("openmp", "fastinit was built without OpenMP: it fills on one thread")
    from threadpoolctl import threadpool_info

    from fastinit._tools import config as _config

    assert fastinit._core.openmp_version() >= 200805  # OpenMP 3.0 or later
    assert _config.config()["openmp"].startswith("yes (_OPENMP ")
    assert any(i["user_api"] == "openmp" for i in threadpool_info())  # an OpenMP runtime is loaded


def test_every_required_feature_is_there():
    from features import have, required

    missing = sorted(f for f in required() if not have(f))
    assert not missing, f"FASTINIT_REQUIRE names {', '.join(missing)}, which this build or CPU lacks"


def test_a_missing_feature_skips_unless_it_is_required(monkeypatch):
    import features
    from fastinit._backends import simd as _simd

    monkeypatch.setattr(_simd, "available", lambda: ["generic"])
    monkeypatch.delenv("FASTINIT_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no avx512 here"):
        features.need("avx512", "no avx512 here")
    monkeypatch.setenv("FASTINIT_REQUIRE", " OpenMP, avx512 ")
    assert features.required() == {"openmp", "avx512"}
    with pytest.raises(pytest.fail.Exception, match="FASTINIT_REQUIRE requires avx512, but: no avx512 here"):
        features.need("avx512", "no avx512 here")
    with pytest.raises(pytest.skip.Exception):  # not required: still a skip
        features.need("avx2", "no avx2 here")
    with pytest.raises(pytest.fail.Exception, match="requires avx512"):
        features.require_or_skip("avx512", "the build lacks it")
    monkeypatch.setenv("FASTINIT_REQUIRE", "avx521")
    with pytest.raises(ValueError, match="unknown feature"):
        features.required()


def test_a_misspelt_requirement_stops_the_run(tmp_path):
    import os
    import pathlib
    import shutil
    import subprocess
    import sys

    here = pathlib.Path(__file__).resolve().parent
    for f in ("conftest.py", "features.py"):
        shutil.copy(here / f, tmp_path / f)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    env = dict(os.environ, FASTINIT_REQUIRE="openmp,avx521")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 4, p.stdout + p.stderr  # a usage error
    assert "FASTINIT_REQUIRE: unknown feature(s) avx521" in p.stderr


def test_ci_requires_what_this_cpu_offers(tmp_path):
    """.ci/run derives FASTINIT_REQUIRE from /proc/cpuinfo; on x86-64 Linux
    that must name exactly the SIMD paths the core's runtime dispatch finds."""
    import pathlib
    import platform
    import subprocess

    from fastinit._backends import simd as _simd

    run = pathlib.Path(__file__).resolve().parent.parent / ".ci" / "run"
    if not run.is_file():
        pytest.skip("not a source checkout")

    def derive(cpuinfo=None):
        env = None if cpuinfo is None else {**__import__("os").environ, "CPUINFO": str(cpuinfo)}
        out = subprocess.run(["bash", str(run), "--print-require"], capture_output=True, text=True, timeout=60,
                             env=env, check=True).stdout.strip()
        return set(out.split(",")) - {""}

    v3 = "cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3 avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
    v4 = v3 + " avx512f avx512bw avx512cd avx512dq avx512vl"
    linux = {"openmp"} if platform.system() == "Linux" else set()
    for flags, want in [(v4, {"avx2", "avx512"}), (v4.replace(" avx512vl", ""), {"avx2"}),
                        (v3, {"avx2"}), (v3.replace(" movbe", ""), set()), ("fpu sse2", set())]:
        (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nflags\t\t: fpu {flags} sse2\n")
        assert derive(tmp_path / "cpuinfo") == linux | want, flags
    assert derive(tmp_path / "missing") == linux
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        assert derive() == {"openmp"} | (set(_simd.available()) - {"generic"})
