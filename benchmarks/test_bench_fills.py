"""pytest-benchmark suite: fastinit beside its peers, group by group.

    pytest benchmarks                    # all groups
    pytest benchmarks -k small           # one group

Ratios are what to read (pytest-benchmark prints each group sorted, with
the fastest as the reference); absolute times depend on the machine.
"""

import numpy as np
import pytest

import fastinit
from fastinit import _threads

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


# ------------------------------------------------------------------ normal


@pytest.mark.benchmark(group="normal float32 2^24")
def test_normal_fastinit(benchmark, buf):
    benchmark(fastinit.default_rng(0).standard_normal, out=buf)


@pytest.mark.benchmark(group="normal float32 2^24")
def test_normal_fastinit_1_thread(benchmark, buf, threads):
    fastinit.set_num_threads(1)
    benchmark(fastinit.default_rng(0).standard_normal, out=buf)


@pytest.mark.benchmark(group="normal float32 2^24")
def test_normal_numpy(benchmark, buf):
    benchmark(np.random.default_rng(0).standard_normal, dtype=np.float32, out=buf)


@pytest.mark.benchmark(group="normal float32 2^24")
def test_normal_torch(benchmark, buf, torch):
    benchmark(torch.from_numpy(buf).normal_)


# ----------------------------------------------------------------- uniform


@pytest.mark.benchmark(group="uniform float32 2^24")
def test_uniform_fastinit(benchmark, buf):
    benchmark(fastinit.default_rng(0).random, out=buf)


@pytest.mark.benchmark(group="uniform float32 2^24")
def test_uniform_numpy(benchmark, buf):
    benchmark(np.random.default_rng(0).random, dtype=np.float32, out=buf)


@pytest.mark.benchmark(group="uniform float32 2^24")
def test_uniform_torch(benchmark, buf, torch):
    benchmark(torch.from_numpy(buf).uniform_)


# ------------------------------------------------------- small: per call


@pytest.mark.benchmark(group="small: 4096 float32 normals")
def test_small_fastinit(benchmark, small):
    assert _threads.threads_for(SMALL) == 1  # no thread team for a bias
    benchmark(fastinit.default_rng(0).standard_normal, out=small)


@pytest.mark.benchmark(group="small: 4096 float32 normals")
def test_small_numpy(benchmark, small):
    benchmark(np.random.default_rng(0).standard_normal, dtype=np.float32, out=small)
