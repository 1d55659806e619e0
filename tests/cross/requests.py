"""Write the harness's request matrix (tests/cross/harness.c reads it).

Every kind in every output type it allows, at starts that cross Philox
blocks (4 elements), SIMD groups, the engine's blocks (FI_BLOCK elements),
the carry from a block counter's low word into its high word (element
2^34) and the top of the 64-bit element index; contiguous, strided
(gathered, covered and element-by-element steps) and Fortran-order layouts;
fills long enough to run on several threads.  Standard library only (no
NumPy, no fastinit): codes and limits come from the stream contract's one
source, fastinit/_contract/stream.toml.

    python3 tests/cross/requests.py > requests.txt
"""

from __future__ import annotations

import math
import pathlib
import struct
import sys
import tomllib

SPEC = tomllib.loads(
    (pathlib.Path(__file__).resolve().parents[2] / "fastinit" / "_contract" / "stream.toml").read_text())
KIND = {k["name"]: i for i, k in enumerate(SPEC["kinds"])}
DTYPE = {d["name"]: i for i, d in enumerate(SPEC["dtypes"])}
BLOCK = SPEC["stream"]["engine_block"]


def f32(x: float) -> float:
    """x rounded to float32 (parameters of 32-bit and narrower outputs are)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def kinds():
    """(kind, dtype, params a b c d lo hi) cases."""
    narrow = ("f32", "f16", "bf16")
    yield "raw", "u32", (0, 0, 0, 0, 0, 0)
    for dt in narrow + ("f64",):
        r = float if dt == "f64" else f32
        yield "const", dt, (r(0.3), 0, 0, 0, 0, 0)
        yield "uniform", dt, (r(-0.1), r(0.4), 0, 0, r(-0.1), r(0.3))
        yield "uniform", dt, (-2.0, 5.0, 0, 0, -2.0, 3.0)
        yield "normal", dt, (r(0.1), r(0.02), 0, 0, 0, 0)
        for lo, hi in ((-2.0, 2.0), (-0.5, 3.0)):
            c, d = phi(lo), phi(hi) - phi(lo)
            yield "truncnorm", dt, (r(1.0), r(0.5), r(c), r(d), r(1.0 + 0.5 * lo), r(1.0 + 0.5 * hi))
    yield "const", "f32", (-0.0, 0, 0, 0, 0, 0)
    for dt in narrow:  # the far tail, in float64 arithmetic
        c, d = phi(5.0), phi(9.0) - phi(5.0)
        yield "truncnorm_f64", dt, (0.0, 1.0, c, d, f32(5.0), f32(9.0))
    c, d = phi(5.0), phi(9.0) - phi(5.0)
    yield "truncnorm", "f64", (1.0, 2.0, c, d, 11.0, 19.0)


FIRST_OF_KIND: dict[str, str] = {}  # each kind's first output type in kinds()
for _kind, _dt, _ in kinds():
    FIRST_OF_KIND.setdefault(_kind, _dt)

STARTS = (0, 1, 3, 6, 4 * 1000 + 3, BLOCK - 7, 2**34 - 13, 2**50 + 3, 2**64 - 4099)
SIZES = (1, 3, 17, 64, 129, 1000, 70, 4099, 333)
KEYS = ((0, 0), (0xDEADBEEF, 0x12345678))
STREAMS = (0, 2**63 + 17)


def lines():
    for i, (kind, dt, params) in enumerate(kinds()):
        head = lambda k, s: (KIND[kind], DTYPE[dt], *KEYS[k % 2], STREAMS[s % 2],  # noqa: E731
                             *(repr(float(v)) for v in params))
        # 1-d runs at every start
        for j, (g, n) in enumerate(zip(STARTS, SIZES)):
            yield (*head(i + j, j), g, 1, n, "C", "C")
        # strided layouts: C order; a transposed walk (gathered from the
        # covering range); a step of 3 (covered); a step of 1000 (element by
        # element); Fortran-order output; 3-d with a negative stride
        yield (*head(i, 1), 5, 2, 37, 53, "C", "C")
        yield (*head(i, 0), 7, 2, 37, 53, 1, 37, "C")
        yield (*head(i, 1), 2**34 - 100, 2, 29, 41, 3 * 41, 3, "C")
        yield (*head(i, 0), 11, 2, 13, 17, 1000, 17000, "C")
        yield (*head(i, 1), 0, 2, 33, 19, "C", "F")
        yield (*head(i, 0), 4000, 3, 5, 6, 7, -42, 7, 1, "C")
        # long enough for several threads (and several engine blocks)
        yield (*head(i, 1), 3, 1, 3 * BLOCK + 5, "C", "C")
        # and, for one case of each kind, for 5 threads with chunks to take
        # from each other's shares (9 blocks: more than the 5 threads' shares)
        if FIRST_OF_KIND[kind] == dt:
            yield (*head(i, 0), 2**34 - 7 * BLOCK, 1, 9 * BLOCK + 17, "C", "C")


def main() -> int:
    out = sys.stdout
    out.write("# kind dtype key0 key1 stream a b c d lo hi gbase ndim shape... gstride|C order\n")
    for fields in lines():
        out.write(" ".join(str(f) for f in fields) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
