"""Long statistical checks, deselected by default.  With the property tests
at 5000 examples each: `pytest -m "slow or property" --hypothesis-profile=long`."""

import math

import numpy as np
import pytest
from scipy import stats

import fastinit

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("dtype,n", [(np.float32, 10**9), (np.float64, 10**8)])
def test_tail_frequencies_match_theory(dtype, n):
    """Counts of |z| > 3, 4, 5 against n 2 Phi(-t): binomial z-scores below 4."""
    g = fastinit.default_rng(0)
    chunk = 1 << 25
    buf = np.empty(chunk, dtype=dtype)
    hits = dict.fromkeys((3.0, 4.0, 5.0), 0)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        a = np.abs(g.standard_normal(out=buf[:m], stream="tails", start=start))
        for t in hits:
            hits[t] += int(np.count_nonzero(a > t))
    for t, h in hits.items():
        p = 2 * stats.norm.sf(t)
        z = (h - n * p) / math.sqrt(n * p * (1 - p))
        assert abs(z) < 4, (t, h, n * p, z)


@pytest.mark.parametrize("a,b", [((0, 0), (1, 0)), ((0, 7), (0, 8)), ((0, "layers.0.weight"), (0, "layers.1.weight"))])
def test_neighbouring_streams_are_uncorrelated(a, b):
    n = 10**8
    x = fastinit.default_rng(a[0]).standard_normal(n, dtype=np.float32, stream=a[1]).astype(np.float64)
    y = fastinit.default_rng(b[0]).standard_normal(n, dtype=np.float32, stream=b[1]).astype(np.float64)
    assert abs(np.corrcoef(x, y)[0, 1]) < 5 / math.sqrt(n)
