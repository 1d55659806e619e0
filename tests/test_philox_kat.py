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


# Long sequences: 1,024 consecutive words of streams with non-zero keys and
# stream ids, from starts that are not block-aligned and that cross the
# carry into the counter's high word, computed once by the slow reference
# (tests/reference.py, itself checked against Random123 above) and kept in
# tests/data/philox_stream_kat.txt.  The vector kernels must reproduce them
# on every SIMD path.  `python tests/test_philox_kat.py` rewrites the file.
STREAM_KAT = pathlib.Path(__file__).parent / "data" / "philox_stream_kat.txt"
STREAM_CASES = [  # (key, stream, first word)
    ((0x243F6A88, 0x85A308D3), 1, 0),
    ((0x13198A2E, 0x03707344), 0xA4093822299F31D0, 3),
    ((0xFFFFFFFF, 0xFFFFFFFF), 2**64 - 1, 4 * (2**32 - 100) + 1),  # crosses block 2^32
    ((0x082EFA98, 0xEC4E6C89), 0x452821E638D01377, 2**63 + 7),
    ((0x00000001, 0x00000000), 2**32, 2**64 - 1024),                 # the last words of a stream
]
N_WORDS = 1024


def _stream_kat():
    rows = {}
    for line in STREAM_KAT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k0, k1, stream, start, *ws = line.split()
            rows[(int(k0, 16), int(k1, 16), int(stream, 16), int(start, 16))] = [int(w, 16) for w in ws]
    return rows


def test_stream_kat_file_covers_the_cases():
    rows = _stream_kat()
    assert sorted(rows) == sorted((k[0], k[1], s, w) for k, s, w in STREAM_CASES)
    assert all(len(v) == N_WORDS for v in rows.values())


@pytest.mark.parametrize("key,stream,start", STREAM_CASES, ids=str)
def test_reference_reproduces_stream_kat(key, stream, start):
    want = _stream_kat()[(key[0], key[1], stream, start)]
    assert R.raw(key, stream, start, N_WORDS).tolist() == want


@pytest.mark.parametrize("key,stream,start", STREAM_CASES, ids=str)
def test_vector_paths_reproduce_stream_kat(simd, key, stream, start):
    want = np.array(_stream_kat()[(key[0], key[1], stream, start)], dtype=np.uint32)
    g = fastinit.Generator._from_key(key)
    np.testing.assert_array_equal(g.random_raw(N_WORDS, stream=stream, start=start), want)
    # and every sub-range of it, so each lane and group position is a start
    for off in (1, 2, 3, 5, 17, 63):
        np.testing.assert_array_equal(g.random_raw(N_WORDS - off, stream=stream, start=start + off), want[off:])


if __name__ == "__main__":
    lines = ["# Philox4x32-10 stream words from tests/reference.py (see test_philox_kat.py).",
             "# Columns: key word 0, key word 1, stream id, first word index, then 1024 words (hex)."]
    for key, stream, start in STREAM_CASES:
        ws = R.raw(key, stream, start, N_WORDS)
        lines.append(" ".join([f"{key[0]:08x}", f"{key[1]:08x}", f"{stream:x}", f"{start:x}"]
                              + [f"{int(w):08x}" for w in ws]))
    STREAM_KAT.write_text("\n".join(lines) + "\n")
