"""Smoke check of an installed fastinit wheel, run by cibuildwheel's test
command and by tests/wheel/check_wheel.sh (a few seconds, not the suite).

Run it from outside the source tree (`python path/to/smoke.py`): the
repository's fastinit/ folder has no compiled core.

The stream is a pure function of (seed, stream, index, distribution, dtype),
bit-identical on every CPU, SIMD path and thread count, so one hash holds for
every wheel.  EXPECTED_SHA256 is the sha256 of
fastinit.normal(4096, rng=0, dtype=np.float32).tobytes() at stream version 2
(the fill that passes tests/test_golden.py); a new STREAM_VERSION needs a new
hash here.

--require NAMES (comma-separated; `auto` expands to what this platform's
wheel is built with, see BUILT_WITH) fails unless the build has each one:
`openmp` an OpenMP build, a SIMD path name (avx2, avx512, neon, sve) that
path compiled in.  FASTINIT_SMOKE_REQUIRE adds names the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import os
import pathlib
import platform
import sys

import numpy as np

import fastinit
from fastinit import _core
from fastinit._backends import simd
from fastinit._tools.config import config

STREAM_VERSION = 2
EXPECTED_SHA256 = "f67837dca87d0678d9c1130c79d70e0696c8cb827a665d2b2880b015ae7b955b"
# the first four float32 values of that fill, as bit patterns
EXPECTED_HEAD = (0xBFF29EDE, 0xBF4833D8, 0x3F3D5551, 0xBF53CC29)

# What each platform's wheel is built with (CMakeLists.txt): OpenMP with GCC
# on Linux; Apple clang has none (the core's own threads) unless libomp is set up.
BUILT_WITH = {
    ("linux", "x86_64"): ("openmp", "avx2", "avx512"),
    ("linux", "aarch64"): ("openmp", "neon", "sve"),
    ("darwin", "x86_64"): ("avx2", "avx512"),
    ("darwin", "arm64"): ("neon",),
}


def _requirements(arg: str) -> list[str]:
    names = [n.strip().lower() for n in f"{arg},{os.environ.get('FASTINIT_SMOKE_REQUIRE', '')}".split(",")]
    out: list[str] = []
    for n in names:
        if n == "auto":
            out += BUILT_WITH.get((sys.platform, platform.machine().lower()), ())
        elif n:
            out.append(n)
    return sorted(set(out))


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--require", default="", help="comma-separated: openmp, avx2, avx512, neon, sve, auto")
    args = p.parse_args()

    pkg = pathlib.Path(fastinit.__file__).resolve().parent
    core = pathlib.Path(_core.__file__).resolve()
    print(f"fastinit from {pkg}")
    assert core.parent == pkg, f"compiled core {core} is not beside the package {pkg}"
    assert any(core.name == "_core" + s for s in importlib.machinery.EXTENSION_SUFFIXES), core
    fastinit.show_config()
    cfg = config()

    assert fastinit.STREAM_VERSION == STREAM_VERSION, (
        f"stream version {fastinit.STREAM_VERSION}; EXPECTED_SHA256 is for {STREAM_VERSION}")
    a = fastinit.normal(4096, rng=0, dtype=np.float32)
    assert a.dtype == np.float32 and a.shape == (4096,), (a.dtype, a.shape)
    head = tuple(int(x) for x in a[:4].view(np.uint32))
    assert head == EXPECTED_HEAD, [hex(x) for x in head]
    assert _sha(a) == EXPECTED_SHA256, _sha(a)

    # every SIMD path this CPU runs, one thread and several, gives those bits
    big = {}
    for name in simd.available():
        with simd.forced(name):
            assert _sha(fastinit.normal(4096, rng=0, dtype=np.float32)) == EXPECTED_SHA256, name
            for n in (1, 4):
                fastinit.set_num_threads(n)
                big[(name, n)] = _sha(fastinit.normal(1 << 20, rng=0, dtype=np.float32))
    assert len(set(big.values())) == 1, big

    missing = []
    for name in _requirements(args.require):
        if name == "openmp":
            ok = cfg["openmp"].startswith("yes")
        elif name in simd.NAMES:
            ok = bool(_core.isa_compiled(simd.NAMES.index(name)))
        else:
            raise SystemExit(f"--require: unknown name {name!r}")
        if not ok:
            missing.append(name)
    assert not missing, f"this build lacks {', '.join(missing)}"

    print(f"smoke: OK (paths run: {', '.join(simd.available())}; required: "
          f"{', '.join(_requirements(args.require)) or 'nothing'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
