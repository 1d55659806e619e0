"""Philox4x32-10 against Random123's known answers (tests/data)."""

import pathlib

import numpy as np
import pytest

import fastinit
import reference as R
from fastinit import _core

KAT = pathlib.Path(__file__).parent / "data" / "philox4x32_10_kat.txt"


def _rows():
    rows = []
    for line in KAT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            v = [int(x, 16) for x in line.split()]
            rows.append((v[0:4], v[4:6], v[6:10]))
    return rows


ROWS = _rows()


def test_kat_file_has_rows():
    assert len(ROWS) == 5


@pytest.mark.parametrize("ctr,key,expected", ROWS)
def test_scalar_c_philox(ctr, key, expected):
    assert _core.philox(ctr, key) == expected


@pytest.mark.parametrize("ctr,key,expected", ROWS)
def test_numpy_reference_philox(ctr, key, expected):
    assert R.philox4x32_10([ctr], key)[0].tolist() == expected


@pytest.mark.parametrize("ctr,key,expected", ROWS)
def test_vector_paths_through_random_raw(simd, ctr, key, expected):
    """The SIMD kernels, addressed as the stream contract says: block
    ctr[0] | ctr[1] << 32 of stream ctr[2] | ctr[3] << 32."""
    block = ctr[0] | ctr[1] << 32
    stream = ctr[2] | ctr[3] << 32
    if 4 * block + 4 > 2**64:
        pytest.skip("block beyond the 2**64 words a stream addresses")
    g = fastinit.Generator._from_key(key)
    got = g.random_raw(4, stream=stream, start=4 * block)
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.uint32))
