"""pytest-benchmark suite: fastinit beside its peers, group by group.

    pytest benchmarks                    # all groups
    pytest benchmarks -k small           # one group

Ratios are what to read (pytest-benchmark prints each group sorted, with
the fastest as the reference); absolute times depend on the machine.
"""

import numpy as np
import pytest

import fastinit
from fastinit._backends import threads as _threads

N = 1 << 24  # float32 elements: 64 MiB, far beyond the caches
SMALL = 4096  # a bias vector


@pytest.fixture(scope="module")
def buf():
    return np.zeros(N, dtype=np.float32)  # touched once, so page faults are not timed


@pytest.fixture(scope="module")
def small():
    return np.zeros(SMALL, dtype=np.float32)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ------------------------------------------------- normal and uniform
# (group, fastinit method, NumPy method, torch Tensor method)
KINDS = [("normal float32 2^24", "standard_normal", "standard_normal", "normal_"),
         ("uniform float32 2^24", "random", "random", "uniform_")]


@pytest.mark.parametrize("group,method,_np,_torch", KINDS, ids=["normal", "uniform"])
def test_fastinit(benchmark, buf, group, method, _np, _torch):
    benchmark.group = group
    benchmark(getattr(fastinit.default_rng(0), method), out=buf)


@pytest.mark.parametrize("group,method,_np,_torch", KINDS, ids=["normal", "uniform"])
def test_fastinit_1_thread(benchmark, buf, threads, group, method, _np, _torch):
    benchmark.group = group
    fastinit.set_num_threads(1)
    benchmark(getattr(fastinit.default_rng(0), method), out=buf)


@pytest.mark.parametrize("group,_fi,method,_torch", KINDS, ids=["normal", "uniform"])
def test_numpy(benchmark, buf, group, _fi, method, _torch):
    benchmark.group = group
    benchmark(getattr(np.random.default_rng(0), method), dtype=np.float32, out=buf)


@pytest.mark.parametrize("group,_fi,_np,method", KINDS, ids=["normal", "uniform"])
def test_torch(benchmark, buf, torch, group, _fi, _np, method):
    benchmark.group = group
    benchmark(getattr(torch.from_numpy(buf), method))


# ------------------------------------------------------- small: per call


@pytest.mark.benchmark(group="small: 4096 float32 normals")
def test_small_fastinit(benchmark, small):
    assert _threads.threads_for(SMALL) == 1  # no thread team for a bias
    benchmark(fastinit.default_rng(0).standard_normal, out=small)


@pytest.mark.benchmark(group="small: 4096 float32 normals")
def test_small_numpy(benchmark, small):
    benchmark(np.random.default_rng(0).standard_normal, dtype=np.float32, out=small)
