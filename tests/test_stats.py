"""Statistics of the generated values (fixed seeds, so each test is
deterministic; tolerances are several standard errors wide) and accuracy
of the functions that define them."""

import math

import numpy as np
import pytest
from scipy import special, stats

import fastinit
import reference as R

N = 1 << 22


def _sample(dist, dtype, n=N, seed=12345):
    g = fastinit.default_rng(seed)
    if dist == "normal":
        return g.standard_normal(n, dtype=dtype).astype(np.float64)
    return g.random(n, dtype=dtype).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_moments(dtype):
    x = _sample("normal", dtype)
    se = 1 / math.sqrt(N)
    assert abs(x.mean()) < 5 * se
    assert abs(x.var() - 1) < 5 * math.sqrt(2) * se
    assert abs(stats.skew(x)) < 5 * math.sqrt(6) * se
    assert abs(stats.kurtosis(x)) < 5 * math.sqrt(24) * se


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_moments_and_range(dtype):
    x = _sample("uniform", dtype)
    assert x.min() >= 0 and x.max() < 1
    se = 1 / math.sqrt(N)
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(1 / 12) * se
    assert abs(x.var() - 1 / 12) < 5 * math.sqrt(1 / 180) * se


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"])
def test_normal_ks(dtype):
    dt = fastinit._validate.as_dtype(dtype)
    x = _sample("normal", dt, n=200_000, seed=7)
    assert stats.kstest(x, "norm").pvalue > 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_ks(dtype):
    x = _sample("uniform", dtype, n=200_000, seed=7)
    assert stats.kstest(x, "uniform").pvalue > 1e-3


def test_normal_parameters_scale_and_shift():
    x = fastinit.default_rng(1).normal(3.0, 0.5, N, dtype=np.float32).astype(np.float64)
    assert abs(x.mean() - 3.0) < 5 * 0.5 / math.sqrt(N)
    assert abs(x.std() - 0.5) < 5 * 0.5 / math.sqrt(2 * N)


@pytest.mark.parametrize("lag", [1, 2, 3, 4, 5])
def test_neighbouring_normals_are_uncorrelated(lag):
    """Elements 2k and 2k + 1 share a Box-Muller pair; no lag correlates."""
    x = _sample("normal", np.float32)
    r = np.corrcoef(x[:-lag], x[lag:])[0, 1]
    assert abs(r) < 5 / math.sqrt(N)


def test_normal_tail_frequencies():
    x = np.abs(_sample("normal", np.float32, n=1 << 24, seed=3))
    for t in (2.0, 3.0, 4.0):
        p = 2 * stats.norm.sf(t)
        expected = p * x.size
        assert abs((x > t).sum() - expected) < 5 * math.sqrt(expected), t
    assert x.max() < 6.67  # sqrt(-2 log 2**-32): the largest radius


def test_streams_and_seeds_are_uncorrelated():
    g = fastinit.default_rng(0)
    a = g.standard_normal(N, dtype=np.float32, stream=0)
    b = g.standard_normal(N, dtype=np.float32, stream=1)
    c = fastinit.default_rng(1).standard_normal(N, dtype=np.float32, stream=0)
    for u, v in ((a, b), (a, c)):
        assert abs(np.corrcoef(u, v)[0, 1]) < 5 / math.sqrt(N)


# ------------------------------------------------- accuracy of the math


def _ulps(got, want, dtype):
    spacing = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def test_log_f32_within_2_ulp():
    x = np.concatenate([np.geomspace(2.0**-32, 1.0, 200_001), np.linspace(0.5, 1.0, 100_001)]).astype(np.float32)
    got = R.log_f32(x)
    want = np.log(x.astype(np.float64))
    ok = want != 0
    assert _ulps(got[ok], want[ok], np.float32).max() <= 2


def test_log_f64_within_1_ulp():
    x = np.concatenate([np.geomspace(2.0**-60, 1.0, 200_001), np.linspace(0.5, 1.0, 100_001)])
    got = R.log_f64(x)
    want = np.log(x)
    ok = want != 0
    assert _ulps(got[ok], want[ok], np.float64).max() <= 1


def test_box_muller_radius_and_angle_accuracy():
    """z0^2 + z1^2 = -2 log q and atan2(z1, z0) = 2 pi u2 / 2^32, to float32
    accuracy, over words covering every quarter turn and the radius tails."""
    rs = np.random.RandomState(0)
    u1 = np.concatenate([rs.randint(0, 2**32, 100_000, dtype=np.uint64), np.arange(0, 64), 2**32 - 1 - np.arange(64)]).astype(np.uint32)
    u2 = rs.randint(0, 2**32, u1.size, dtype=np.uint64).astype(np.uint32)
    z0, z1 = R.box_muller_f32(u1, u2)
    q = (u1 >> 1).astype(np.float64) * 2.0**-31 + 2.0**-32
    r_true = np.sqrt(-2 * np.log(q))
    r = np.hypot(z0.astype(np.float64), z1.astype(np.float64))
    assert np.all(np.abs(r - r_true) <= 5e-7 * r_true)  # relative, down to the smallest radius
    assert r.min() > 0  # no atom at zero
    big = r_true > 1e-2
    theta = np.arctan2(z1[big].astype(np.float64), z0[big].astype(np.float64))
    theta_true = 2 * np.pi * u2[big].astype(np.float64) / 2**32
    d = np.angle(np.exp(1j * (theta - theta_true)))
    assert np.abs(d).max() < 1e-6 / r_true[big].min() + 4e-7


def test_box_muller_f64_radius_and_angle_accuracy():
    """float64: z0^2 + z1^2 = -2 log q and atan2(z1, z0) = 2 pi t to a few
    ulp, with q and t from the block's two 53-bit halves."""
    rs = np.random.RandomState(1)
    w = rs.randint(0, 2**32, (100_000, 4), dtype=np.uint64).astype(np.uint32)
    w[:64, :2] = 0xFFFFFFFF - np.arange(64, dtype=np.uint32)[:, None]  # q near 1: the smallest radii
    w[64:128, :2] = np.arange(64, dtype=np.uint32)[:, None]             # q near 0: the largest
    z0, z1 = R.box_muller_f64(w[:, 0], w[:, 1], w[:, 2], w[:, 3])
    q = R.unit53(w[:, 0], w[:, 1])
    c = R.unit53(~w[:, 0], ~w[:, 1])  # exactly 1 - q (up to the 2^-54 offsets)
    upper = q > 0.5
    log_q = np.empty_like(q)
    log_q[upper] = np.log1p(-c[upper])
    log_q[~upper] = np.log(q[~upper])
    r_true = np.sqrt(-2 * log_q)
    r = np.hypot(z0, z1)
    assert np.all(np.abs(r - r_true) <= 8e-16 * r_true)
    assert r.min() > 0
    hi = w[:, 3].astype(np.float64) * 2**32 + (w[:, 2] >> np.uint32(11)).astype(np.float64) * 2**11
    theta_true = 2 * np.pi * hi / 2**64
    big = r_true > 1e-3
    d = np.angle(np.exp(1j * (np.arctan2(z1[big], z0[big]) - theta_true[big])))
    assert np.abs(d).max() < 1e-14


def test_ppnd_f64_matches_scipy():
    """AS 241, which the float64 truncated normal uses."""
    p = np.concatenate([np.geomspace(2.0**-54, 0.5, 200_001), np.linspace(0.07, 0.5, 10_001)])
    got = R.ppnd_tail_f64(p)
    want = -special.ndtri(p)
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    assert rel[np.abs(want) > 1e-12].max() < 1e-14
